// The site menu on a phone: folded behind its button (the CSS shows the button only on a
// narrow screen). Without this script the menu simply stays open.
(function () {
  "use strict";
  var nav = document.querySelector("nav.menu.long");
  if (!nav) return;
  var button = nav.querySelector(".menu-toggle");
  nav.classList.add("folding");
  button.addEventListener("click", function () {
    button.setAttribute("aria-expanded", button.getAttribute("aria-expanded") === "true" ? "false" : "true");
  });
})();
