// Upload progress for large certificates. Without JavaScript the form posts
// normally; with it, the same POST goes through XMLHttpRequest so the bar can
// follow the bytes. A redirect (success) is followed; a page with errors
// replaces the form in place.
(function () {
  function bind() {
    var form = document.getElementById("upload-form");
    if (!form || !window.XMLHttpRequest || !window.FormData) return;
    var bar = document.getElementById("upload-progress");
    var status = document.getElementById("upload-status");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action || window.location.href);
      bar.hidden = false;
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) {
          bar.value = Math.round((e.loaded / e.total) * 100);
          status.textContent = "Uploading… " + bar.value + " %";
        }
      });
      request.addEventListener("load", function () {
        if (request.responseURL && request.responseURL !== window.location.href) {
          window.location.assign(request.responseURL);
          return;
        }
        var page = new DOMParser().parseFromString(request.responseText, "text/html");
        var fresh = page.querySelector("main");
        if (fresh) {
          document.querySelector("main").replaceWith(fresh);
          bind();
        }
      });
      request.addEventListener("error", function () {
        status.textContent = "The upload failed. Check your connection and try again.";
      });
      request.send(new FormData(form));
    });
  }
  bind();
})();
