// Home care: the caregiver's geolocated check-in/out (the command centre's charts are drawn by app.js).
document.addEventListener("DOMContentLoaded", function () {
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
