// Home care: the command centre's charts (ECharts, served locally) and the caregiver's geolocated check-in/out.
document.addEventListener("DOMContentLoaded", function () {
  var holder = document.getElementById("care-data");
  if (holder && window.echarts) {
    var data = JSON.parse(holder.dataset.chart);
    var names = data.towns.map(function (r) { return r.name; });
    var series = [["核定", "entitled"], ["排班", "scheduled"], ["已服务", "delivered"], ["核验通过", "verified"]].map(function (s) {
      return {name: s[0], type: "bar", data: data.towns.map(function (r) { return r[s[1]]; })};
    });
    echarts.init(document.getElementById("chart-towns")).setOption({
      tooltip: {trigger: "axis"}, legend: {}, xAxis: {type: "category", data: names},
      yAxis: {type: "value", name: "小时"}, series: series});
    var pie = Object.keys(data.status).map(function (k) { return {name: data.labels[k] || k, value: data.status[k]}; });
    echarts.init(document.getElementById("chart-status")).setOption({
      title: {text: "本月上门服务状态", left: "center"}, tooltip: {trigger: "item"},
      series: [{type: "pie", radius: ["35%", "65%"], data: pie}]});
  }
  document.querySelectorAll("form.geo").forEach(function (form) {
    form.addEventListener("submit", function (ev) {
      if (form.dataset.located || !navigator.geolocation) return;
      ev.preventDefault();
      var status = document.getElementById("geo-status");
      if (status) status.textContent = "正在获取定位…";
      var send = function () { form.dataset.located = "1"; form.submit(); };
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.elements.lat.value = pos.coords.latitude; form.elements.lon.value = pos.coords.longitude; send();
      }, function () { if (status) status.textContent = "未能获取定位，将标记为待人工核实"; send(); },
      {timeout: 8000, maximumAge: 60000});
    });
  });
});
