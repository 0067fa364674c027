// Draws each chart of the page with uPlot (vendored) from the numbers the server put in
// its data-series attribute. The box's size is fixed by the stylesheet before this runs,
// so a chart appearing moves nothing; without scripts, the numbers are in the table beside it.
(function () {
  "use strict";
  var COLOURS = ["#0b5cad", "#b3261e", "#17632a", "#7a4bb5"];

  // Axis labels that fit 60 px, with as many decimals as the step between ticks needs:
  // 10.0014M, 0.01380, 6.0e-8.
  function label(v, incr) {
    if (v === 0) return "0";
    var a = Math.abs(v), unit = 1, suffix = "";
    if (a < 1e-4) return v.toExponential(1);
    if (a >= 1e9) { unit = 1e9; suffix = "G"; } else if (a >= 1e6) { unit = 1e6; suffix = "M"; } else if (a >= 1e4) { unit = 1e3; suffix = "k"; }
    var step = (incr || a) / unit;
    var places = step >= 1 ? 0 : Math.min(6, Math.ceil(-Math.log10(step) - 1e-9));
    return (v / unit).toFixed(places) + suffix;
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
             { stroke: "#4a5360", grid: { stroke: "#eceef1" }, size: 70,
               values: function (u, splits, axis, space, incr) {
                 return splits.map(function (v) { return label(v, incr); }); } }],
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
