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

// Repeated rows (家庭成员): "添加成员" copies the row template with the next free number, "删除" removes its row.
document.addEventListener("click", function (evt) {
  var add = evt.target.closest("[data-add-row]");
  if (add) {
    var tpl = document.getElementById(add.getAttribute("data-add-row"));
    var box = document.getElementById(add.getAttribute("data-target"));
    if (!tpl || !box) { return; }
    var next = 0;
    box.querySelectorAll("[name$='_name']").forEach(function (el) {
      var m = /^[a-z]+(\d+)_name$/.exec(el.name);
      if (m) { next = Math.max(next, parseInt(m[1], 10) + 1); }
    });
    var holder = document.createElement("div");
    holder.innerHTML = tpl.innerHTML.replace(/__i__/g, String(next));
    while (holder.firstElementChild) { box.appendChild(holder.firstElementChild); }
    var first = box.lastElementChild && box.lastElementChild.querySelector("input");
    if (first) { first.focus(); }
    return;
  }
  var remove = evt.target.closest("[data-remove-row]");
  if (remove) {
    var row = remove.closest(".member-row, fieldset.member");
    if (row) { row.remove(); }
  }
});
