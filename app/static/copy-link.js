// The invitation page's copy button: copies the link into the clipboard and says so.
// Without the Clipboard API (a plain-http intranet address is not a secure context) the
// link is selected, for the liaison to copy with the keyboard or the menu.
(function () {
  "use strict";
  var button = document.getElementById("copy-link");
  var field = document.getElementById("invite-link");
  var status = document.getElementById("copy-status");
  if (!button || !field || !status) return;
  button.hidden = false;
  button.addEventListener("click", function () {
    field.focus();
    field.select();
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(field.value).then(function () {
        status.textContent = "リンクをコピーしました。";
      }, function () {
        status.textContent = "コピーできませんでした。選択されたリンクを手動でコピーしてください。";
      });
    } else {
      status.textContent = "リンクを選択しました。Ctrl+C（または長押し）でコピーしてください。";
    }
  });
})();
