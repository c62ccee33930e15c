// The Copy button beside a link shown once: a file of its own because the CSP refuses inline scripts.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var field = document.getElementById(button.dataset.copy);
    var status = document.getElementById("copy-status");
    var say = function (text) { if (status) { status.textContent = text; } };
    var byHand = function () {
      field.select();
      // The old way, for a page served over plain HTTP, where the clipboard API is not offered.
      say(document.execCommand && document.execCommand("copy") ? button.dataset.copied : button.dataset.failed);
    };
    field.addEventListener("focus", function () { field.select(); });
    button.hidden = false;
    button.addEventListener("click", function () {
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(field.value).then(function () {
          field.select();
          say(button.dataset.copied);
        }, byHand);
      } else {
        byHand();
      }
    });
  });
});
