// What every page of the site does once read: the menu folds on a phone, and a data table
// that scrolls in its own box on a narrow screen can be scrolled from the keyboard.
(function () {
  "use strict";

  // The menu: folded behind its button (the CSS shows the button only on a narrow
  // screen). Without this script the menu simply stays open.
  var nav = document.querySelector("nav.menu.long");
  if (nav) {
    var button = nav.querySelector(".menu-toggle");
    nav.classList.add("folding");
    button.addEventListener("click", function () {
      button.setAttribute("aria-expanded", button.getAttribute("aria-expanded") === "true" ? "false" : "true");
    });
  }

  // A table wider than the screen scrolls (style.css); one with no link or field in it
  // could not be reached with Tab to scroll it (WCAG 2.1.1), so it takes the focus itself,
  // and only while it scrolls: on a wide screen it is no extra stop.
  var tables = document.querySelectorAll("table.grid");
  function markScrolling() {
    for (var i = 0; i < tables.length; i++) {
      var t = tables[i];
      if (t.scrollWidth > t.clientWidth + 1) t.setAttribute("tabindex", "0");
      else t.removeAttribute("tabindex");
    }
  }
  if (tables.length) {
    markScrolling();
    var pending = false;
    window.addEventListener("resize", function () {
      if (pending) return;
      pending = true;
      window.requestAnimationFrame(function () { pending = false; markScrolling(); });
    });
  }
})();
