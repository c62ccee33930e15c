// "Log a commitment": the "It already happened" part shows only for a due time already past, and
// in it only the chosen outcome's fields. A file of its own because the CSP refuses inline scripts;
// without it every part shows and the chosen radio button alone says what counts.
document.addEventListener("DOMContentLoaded", function () {
  var part = document.getElementById("log-outcome");
  var dueDate = document.getElementById("due_date");
  var dueTime = document.getElementById("due_time");
  if (!part || !dueDate) {
    return;
  }
  var radios = part.querySelectorAll('input[name="status"]');

  function chosen() {
    for (var i = 0; i < radios.length; i++) {
      if (radios[i].checked) {
        return radios[i].value;
      }
    }
    return "open";
  }

  function duePassed() {
    if (!dueDate.value) {
      return false;
    }
    // A date without a time means the end of that day, as the server reads it.
    var due = new Date(dueDate.value + "T" + ((dueTime && dueTime.value) || "23:59:59"));
    return !isNaN(due.getTime()) && due <= new Date();
  }

  function update() {
    var passed = duePassed();
    part.hidden = !passed;
    if (!passed) {
      radios[0].checked = true; // not yet due: nothing can have happened, log it open
    }
    var status = chosen();
    part.querySelectorAll("[data-outcome]").forEach(function (block) {
      block.hidden = block.getAttribute("data-outcome").split(" ").indexOf(status) < 0;
    });
  }

  dueDate.addEventListener("input", update);
  if (dueTime) {
    dueTime.addEventListener("input", update);
  }
  radios.forEach(function (radio) {
    radio.addEventListener("change", update);
  });
  update();
});
