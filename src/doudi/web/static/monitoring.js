// Charts of the monitoring ledger (ECharts, vendored): warnings by rule and township, and the weekly trend.
document.addEventListener("DOMContentLoaded", function () {
  var holder = document.getElementById("chart-data");
  if (!holder || !window.echarts) return;
  var d = JSON.parse(holder.dataset.chart);
  echarts.init(document.getElementById("chart-rule")).setOption({title: {text: "按规则", textStyle: {fontSize: 13}},
    tooltip: {}, grid: {left: 140}, xAxis: {type: "value"}, yAxis: {type: "category", data: d.rules},
    series: [{type: "bar", data: d.rule_counts}]});
  echarts.init(document.getElementById("chart-town")).setOption({title: {text: "按乡镇", textStyle: {fontSize: 13}},
    tooltip: {}, series: [{type: "pie", radius: "60%",
      data: d.towns.map(function (t, i) { return {name: t, value: d.town_counts[i]}; })}]});
  echarts.init(document.getElementById("chart-week")).setOption({title: {text: "每周新增", textStyle: {fontSize: 13}},
    tooltip: {}, xAxis: {type: "category", data: d.weeks}, yAxis: {type: "value"},
    series: [{type: "line", data: d.week_counts}]});
});
