// Pharos admin: small progressive enhancements. Every page works without this file.
"use strict";

// Live preview of the postmortem: the server renders it with the public page's renderer.
(function () {
  var form = document.getElementById("postmortem-form");
  var target = document.getElementById("live-preview");
  if (!form || !target || !window.fetch) return;
  var source = form.querySelector("textarea[name=body]");
  var timer = null;
  function refresh() {
    var data = new URLSearchParams();
    data.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
    data.set("body", source.value);
    fetch("/admin/preview", { method: "POST", body: data, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) target.innerHTML = html; })
      .catch(function () {});
  }
  source.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
})();

// Focus the first field with an error, so keyboard and screen reader users land on it.
(function () {
  var bad = document.querySelector("[aria-invalid=true]");
  if (bad) bad.focus();
})();
