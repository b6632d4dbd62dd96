// Awareness materials: a button that deletes asks first (forms marked data-confirm); on a
// new material, the handout's fields show only when 配布資料 is chosen (without the
// script they stay, with their note).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  var handout = document.querySelector(".mat-handout-fields");
  var kinds = document.querySelectorAll('input[name="kind"]');
  if (!handout || !kinds.length) return;
  function sync() {
    var chosen = document.querySelector('input[name="kind"]:checked');
    handout.hidden = !chosen || chosen.value !== "handout";
  }
  kinds.forEach(function (k) { k.addEventListener("change", sync); });
  sync();
})();
