// Display options a candidate switches on for themself (larger text, higher contrast),
// kept in this browser. Loaded in the head, so the class is on <html> before the page is
// drawn and a reload never shows the default look first; the buttons are wired once the
// page has been read.
(function () {
  "use strict";
  var root = document.documentElement;
  var KEY = "cbt-pref-";

  function stored(name) {
    try { return localStorage.getItem(KEY + name) === "1"; } catch (e) { return false; }
  }
  function store(name, on) {
    // Storage can be refused (a locked-down profile): the option then lasts for this page.
    try {
      if (on) localStorage.setItem(KEY + name, "1"); else localStorage.removeItem(KEY + name);
    } catch (e) { /* not kept */ }
  }

  ["large", "contrast"].forEach(function (name) {
    if (stored(name)) root.classList.add("pref-" + name);
  });

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("button[data-pref]"), function (b) {
      var cls = "pref-" + b.dataset.pref;
      b.setAttribute("aria-pressed", String(root.classList.contains(cls)));
      b.addEventListener("click", function () {
        var on = !root.classList.contains(cls);
        root.classList.toggle(cls, on);
        b.setAttribute("aria-pressed", String(on));
        store(b.dataset.pref, on);
      });
    });
  });
})();
