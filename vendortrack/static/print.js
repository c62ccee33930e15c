// The scorecard's Print button: a file of its own because the CSP refuses inline scripts.
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print-scorecard");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});
