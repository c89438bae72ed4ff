// The dashboard's charts (ECharts, served by the app): a map of the grids from their GeoJSON boundaries,
// coloured by needs still open or by closure rate, and bars of the closure rate by the chosen grouping.
// The data is the JSON block #dashboard-data of the page; without this file (or ECharts) the tables
// below are the page.
(function () {
  "use strict";

  var holder = document.getElementById("dashboard-data");
  var section = document.getElementById("dashboard-charts");
  if (!holder || !section || typeof window.echarts === "undefined") return;
  var echarts = window.echarts;
  var data;
  try {
    data = JSON.parse(holder.textContent);
  } catch (e) {
    return;
  }

  var INK = "#1b1b1b", MUTED = "#505a5f", EMPTY = "#e8e8e8";
  var OPEN_COLOURS = ["#fff4e0", "#f5a25d", "#c4561b", "#7a2e0b"];
  // Brown (low) to teal (high): told apart with any colour vision; the numbers are in the tooltip and the table.
  var RATE_COLOURS = ["#8c510a", "#d8b365", "#f6e8c3", "#c7eae5", "#5ab4ac", "#01665e"];
  var charts = [];

  function pct(value) {
    return value === null || value === undefined ? "—" : (value * 100).toFixed(1) + "%";
  }

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  section.hidden = false;

  // --- the map -------------------------------------------------------------------------------------
  var mapBox = document.getElementById("grid-map");
  var features = (data.map && data.map.features) || [];
  if (mapBox && features.length) {
    echarts.registerMap("sanku-grids", data.map);
    var props = {};
    var south = 90, north = -90;
    features.forEach(function (f) {
      props[f.properties.code] = f.properties;
      var polygons = f.geometry.type === "Polygon" ? [f.geometry.coordinates] : f.geometry.coordinates;
      polygons.forEach(function (rings) {
        rings[0].forEach(function (p) {
          south = Math.min(south, p[1]);
          north = Math.max(north, p[1]);
        });
      });
    });
    // Degrees of longitude are shorter than degrees of latitude away from the equator.
    var aspect = Math.cos(((south + north) / 2) * Math.PI / 180);
    var map = echarts.init(mapBox, null, {renderer: "canvas"});
    charts.push(map);

    var mapOption = function (metric) {
      var values = [], top = 0;
      features.forEach(function (f) {
        var code = f.properties.code, g = data.grids[code] || {created: 0, open: 0, closed: 0, rate: null};
        var value = metric === "rate" ? (g.rate === null ? NaN : Math.round(g.rate * 1000) / 10) : g.open;
        if (metric === "open") top = Math.max(top, g.open);
        values.push({name: code, value: value});
      });
      return {
        aria: {enabled: true},
        tooltip: {
          trigger: "item",
          formatter: function (p) {
            var f = props[p.name] || {}, g = data.grids[p.name] || {created: 0, open: 0, closed: 0, rate: null};
            return escapeHtml(f.name || p.name) + "（" + escapeHtml(p.name) + "）<br>" +
              escapeHtml(f.community || "") + (f.party_grid_name ? " · " + escapeHtml(f.party_grid_name) : "") + "<br>" +
              "需求 " + g.created + " 条，未办结 " + g.open + " 条<br>办结率 " + pct(g.rate);
          }
        },
        visualMap: metric === "rate" ? {
          type: "continuous", min: 0, max: 100, calculable: false, orient: "horizontal", left: "left", bottom: 0,
          text: ["办结率 100%", "0%"], inRange: {color: RATE_COLOURS}, textStyle: {color: INK}
        } : {
          type: "continuous", min: 0, max: Math.max(top, 1), calculable: false, orient: "horizontal", left: "left",
          bottom: 0, text: ["未办结 " + Math.max(top, 1) + " 条", "0"], inRange: {color: OPEN_COLOURS},
          textStyle: {color: INK}
        },
        series: [{
          type: "map", map: "sanku-grids", nameProperty: "code", roam: true, aspectScale: aspect,
          scaleLimit: {min: 1, max: 8}, selectedMode: false, data: values,
          itemStyle: {areaColor: EMPTY, borderColor: MUTED, borderWidth: 0.6},
          emphasis: {label: {show: true, color: INK, formatter: function (p) { return p.name; }},
                     itemStyle: {borderColor: INK, borderWidth: 2}},
          label: {show: false}
        }]
      };
    };

    var current = "open";
    map.setOption(mapOption(current));
    document.querySelectorAll('input[name="map-metric"]').forEach(function (radio) {
      radio.addEventListener("change", function () {
        if (!radio.checked || radio.value === current) return;
        current = radio.value;
        map.setOption(mapOption(current), true);
      });
    });
    if (data.queue) {
      map.on("click", function (p) {
        if (p && p.name) window.location.href = data.queue + encodeURIComponent(p.name);
      });
    }
  } else if (mapBox) {
    mapBox.closest(".chart-panel").hidden = true;  // no grid of the scope has a boundary yet
  }

  // --- the bars --------------------------------------------------------------------------------------
  var barBox = document.getElementById("rate-bars");
  var bars = data.bars || [];
  if (barBox && bars.length) {
    barBox.style.height = Math.max(200, 26 * bars.length + 70) + "px";
    var chart = echarts.init(barBox, null, {renderer: "canvas"});
    charts.push(chart);
    var labels = bars.map(function (b) { return b.label || b.key || "—"; });
    chart.setOption({
      aria: {enabled: true},
      grid: {left: 8, right: 56, top: 8, bottom: 28, containLabel: true},
      tooltip: {
        trigger: "axis", axisPointer: {type: "shadow"},
        formatter: function (items) {
          var b = bars[items[0].dataIndex];
          return escapeHtml(labels[items[0].dataIndex]) + "<br>办结率 " + pct(b.rate) + "（需求 " + b.created + " 条）";
        }
      },
      xAxis: {type: "value", min: 0, max: 100, axisLabel: {formatter: "{value}%", color: INK}},
      yAxis: {type: "category", inverse: true, data: labels, axisLabel: {color: INK}},
      series: [{
        type: "bar", barMaxWidth: 18, itemStyle: {color: "#1d4f91"},
        label: {show: true, position: "right", color: INK,
                formatter: function (p) { return pct(bars[p.dataIndex].rate); }},
        data: bars.map(function (b) { return b.rate === null ? "-" : Math.round(b.rate * 1000) / 10; })
      }]
    });
  } else if (barBox) {
    barBox.closest(".chart-panel").hidden = true;
  }

  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
  });
})();
