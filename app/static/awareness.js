// The awareness handout's print button: shown only where a script can print.
(function () {
  var button = document.getElementById("aw-print");
  if (!button) return;
  button.hidden = false;
  button.addEventListener("click", function () { window.print(); });
})();
