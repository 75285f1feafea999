// Send the session's CSRF token with every htmx request, so htmx posts pass the same check as forms.
document.addEventListener("htmx:configRequest", function (evt) {
  var token = document.body.dataset.csrf;
  if (token) { evt.detail.headers["X-CSRF-Token"] = token; }
  // An answer to hx-prompt (e.g. why an ID number is unmasked) travels as a form field: headers are ASCII-only.
  var answer = evt.detail.headers["HX-Prompt"];
  if (answer !== undefined) { evt.detail.parameters["reason"] = answer; delete evt.detail.headers["HX-Prompt"]; }
});

// A select marked data-autosubmit submits its form on change (no inline handlers: the CSP forbids them).
document.addEventListener("change", function (evt) {
  var el = evt.target;
  if (el && el.matches && el.matches("select[data-autosubmit]") && el.form) { el.form.submit(); }
});

// Charts: every element with data-echarts (an ECharts option as JSON) is drawn; ECharts is loaded only on
// pages that have one, from our own static files.
function drawCharts(root) {
  var nodes = (root || document).querySelectorAll("[data-echarts]:not([data-drawn])");
  if (!nodes.length) { return; }
  var draw = function () {
    nodes.forEach(function (node) {
      node.setAttribute("data-drawn", "1");
      var chart = window.echarts.init(node, null, { renderer: "canvas" });
      chart.setOption(JSON.parse(node.getAttribute("data-echarts")));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  };
  if (window.echarts) { draw(); return; }
  var s = document.createElement("script");
  s.src = "/static/vendor/echarts.min.js";
  s.onload = draw;
  document.head.appendChild(s);
}
document.addEventListener("DOMContentLoaded", function () { drawCharts(document); });
document.addEventListener("htmx:afterSwap", function (evt) { drawCharts(evt.target); });
