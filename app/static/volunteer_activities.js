// Deleting an activity record asks once: the record and who took part go with it.
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (form.classList && form.classList.contains("confirm-delete") &&
      !window.confirm("この活動の記録を削除します。よろしいですか。")) {
    event.preventDefault();
  }
});
