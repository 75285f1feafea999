// Send the session's CSRF token with every htmx request, so htmx posts pass the same check as forms.
document.addEventListener("htmx:configRequest", function (evt) {
  var token = document.body.dataset.csrf;
  if (token) { evt.detail.headers["X-CSRF-Token"] = token; }
  // An answer to hx-prompt (e.g. why an ID number is unmasked) travels as a form field: headers are ASCII-only.
  var answer = evt.detail.headers["HX-Prompt"];
  if (answer !== undefined) { evt.detail.parameters["reason"] = answer; delete evt.detail.headers["HX-Prompt"]; }
});
