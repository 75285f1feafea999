// Send the session's CSRF token with every htmx request, so htmx posts pass the same check as forms.
document.addEventListener("htmx:configRequest", function (evt) {
  var token = document.body.dataset.csrf;
  if (token) { evt.detail.headers["X-CSRF-Token"] = token; }
});
