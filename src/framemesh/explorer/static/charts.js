// Draws each chart of the page with uPlot (vendored) from the numbers the server put in
// its data-series attribute. The box's size is fixed by the stylesheet before this runs,
// so a chart appearing moves nothing; without scripts, the numbers are in the table beside it.
(function () {
  "use strict";
  var COLOURS = ["#0b5cad", "#b3261e", "#17632a", "#7a4bb5"];

  // Axis labels that fit 60 px: 1.2M, 35k, 0.5, 2.1e-5.
  function short(v) {
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e9) return +(v / 1e9).toPrecision(3) + "G";
    if (a >= 1e6) return +(v / 1e6).toPrecision(3) + "M";
    if (a >= 1e4) return +(v / 1e3).toPrecision(3) + "k";
    if (a < 0.01) return v.toExponential(1);
    return String(+v.toPrecision(3));
  }

  function draw(el) {
    if (el.dataset.drawn === "1" || typeof uPlot === "undefined") return;
    var spec = JSON.parse(el.dataset.series);
    var data = [spec.x].concat(spec.series.map(function (s) { return s.values; }));
    var series = [{ label: spec.xlabel || "round" }].concat(spec.series.map(function (s, i) {
      return { label: s.label, stroke: COLOURS[i % COLOURS.length], width: 2, points: { show: spec.x.length < 40 } };
    }));
    el.textContent = "";
    el.dataset.drawn = "1";
    new uPlot({
      width: el.clientWidth, height: el.clientHeight, legend: { show: false }, cursor: { show: true },
      scales: { x: { time: !!spec.time } },
      axes: [spec.time ? { stroke: "#4a5360", grid: { stroke: "#eceef1" } }
                       : { stroke: "#4a5360", grid: { stroke: "#eceef1" }, incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] },
             { stroke: "#4a5360", grid: { stroke: "#eceef1" }, size: 60,
               values: function (u, splits) { return splits.map(short); } }],
      series: series,
    }, data, el);
  }

  function drawAll(root) {
    (root || document).querySelectorAll(".plot[data-series]").forEach(draw);
  }
  window.framemeshCharts = { drawAll: drawAll };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { drawAll(); });
  else drawAll();
  // Parts swapped in over server-sent events may bring new charts.
  document.addEventListener("htmx:afterSettle", function (e) { drawAll(e.target); });
})();
