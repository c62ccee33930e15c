// The import pages' progress: the file's bytes as they upload, then the rows as the commit writes them.
// A file of its own because the CSP refuses inline scripts; without it the forms post as usual.
(function () {
  "use strict";

  function swapMain(html) {
    // A refused upload comes back as the page with its errors: show that page's content in place.
    var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("main");
    var main = document.querySelector("main");
    if (fresh && main) {
      main.replaceWith(fresh);
      setUp();
    }
  }

  function showAlert(form, message) {
    var alert = document.createElement("div");
    alert.className = "alert alert-danger mt-3";
    alert.setAttribute("role", "alert");
    alert.textContent = message;
    form.appendChild(alert);
  }

  function setUpUpload(form) {
    form.addEventListener("submit", function (event) {
      if (!window.FormData || !window.XMLHttpRequest || !window.DOMParser) {
        return;
      }
      event.preventDefault();
      var progress = form.querySelector("progress");
      var button = form.querySelector("[type=submit]");
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
      xhr.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          progress.max = e.total;
          progress.value = e.loaded;
        }
      });
      xhr.addEventListener("load", function () {
        var type = xhr.getResponseHeader("Content-Type") || "";
        if (xhr.status === 200 && type.indexOf("application/json") === 0) {
          window.location.assign(JSON.parse(xhr.responseText).url);
        } else {
          swapMain(xhr.responseText);
        }
      });
      xhr.addEventListener("error", function () {
        progress.hidden = true;
        button.disabled = false;
        showAlert(form, form.dataset.failed);
      });
      progress.value = 0;
      progress.hidden = false;
      button.disabled = true;
      xhr.send(new FormData(form));
    });
  }

  function parseEvent(block) {
    var name = "message";
    var data = "";
    block.split("\n").forEach(function (line) {
      if (line.indexOf("event: ") === 0) {
        name = line.slice(7);
      } else if (line.indexOf("data: ") === 0) {
        data += line.slice(6);
      }
    });
    return { name: name, data: data ? JSON.parse(data) : {} };
  }

  function setUpCommit(form) {
    form.addEventListener("submit", function (event) {
      if (!window.fetch || !window.TextDecoder || !window.ReadableStream) {
        return;
      }
      event.preventDefault();
      var progress = form.querySelector("progress");
      var status = form.querySelector("[data-status]");
      var button = form.querySelector("[type=submit]");
      var finished = false;

      function handle(event) {
        if (event.name === "progress") {
          progress.max = Math.max(event.data.total, 1);
          progress.value = event.data.done;
          status.textContent = form.dataset.progress
            .replace("{done}", event.data.done).replace("{total}", event.data.total);
        } else if (event.name === "done") {
          finished = true;
          progress.value = progress.max;
          status.textContent = event.data.message;
          window.location.assign(event.data.url);
        } else if (event.name === "error") {
          finished = true;
          progress.hidden = true;
          status.textContent = "";
          showAlert(form, event.data.message);
        }
      }

      button.disabled = true;
      progress.value = 0;
      progress.hidden = false;
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "text/event-stream" },
        credentials: "same-origin",
      }).then(function (response) {
        if (!response.ok || !response.body) {
          throw new Error(String(response.status));
        }
        var reader = response.body.getReader();
        var decoder = new TextDecoder();
        var buffer = "";
        function pump() {
          return reader.read().then(function (chunk) {
            buffer += decoder.decode(chunk.value || new Uint8Array(), { stream: !chunk.done });
            var blocks = buffer.split("\n\n");
            buffer = blocks.pop();
            blocks.forEach(function (block) { handle(parseEvent(block)); });
            if (!chunk.done) {
              return pump();
            }
            if (!finished) {
              throw new Error("the stream ended early");
            }
          });
        }
        return pump();
      }).catch(function () {
        progress.hidden = true;
        showAlert(form, form.dataset.failed);
      });
    });
  }

  function setUp() {
    var upload = document.getElementById("import-upload");
    if (upload) {
      setUpUpload(upload);
    }
    var commit = document.getElementById("import-commit");
    if (commit) {
      setUpCommit(commit);
    }
  }

  document.addEventListener("DOMContentLoaded", setUp);
})();
