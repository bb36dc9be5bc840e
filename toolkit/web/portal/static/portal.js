// Aplikasi Layanan SPBE: the only script. It keeps the SLA countdown ticking; every form works without it.
(function () {
  "use strict";
  function text(ms) {
    var late = ms < 0, m = Math.floor(Math.abs(ms) / 60000), d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    var parts = d ? [d + " hari", h + " jam"] : (h ? [h + " jam", (m % 60) + " menit"] : [(m % 60) + " menit"]);
    return (late ? "terlambat " : "sisa ") + parts.join(" ");
  }
  function tick() {
    document.querySelectorAll("[data-hitung-mundur]").forEach(function (el) {
      var ms = Date.parse(el.getAttribute("data-hitung-mundur")) - Date.now();
      if (!isNaN(ms)) { el.textContent = text(ms); el.className = ms < 0 ? "terlambat" : "tepat"; }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
})();
