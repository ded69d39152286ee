// The dashboard's charts (ECharts, loaded on this page only). The figures come from the page
// itself, in <script type="application/json" id="dashboard-data">; every bar, slice and point
// carries the URL of the list behind it and opens it on a click or tap.
(function () {
  "use strict";
  const source = document.getElementById("dashboard-data");
  if (!source || !window.echarts) return;
  const data = JSON.parse(source.textContent);
  const palette = ["#0b4a8b", "#2a9d8f", "#f0a202", "#d1495b", "#3aa0d8", "#7048e8", "#6c757d", "#b35c00", "#146c43"];
  const font = window.getComputedStyle(document.body).fontFamily;
  const charts = [];

  function draw(key, option) {
    const element = document.getElementById("chart-" + key);
    if (!element) return;
    const chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(Object.assign({ color: palette, textStyle: { fontFamily: font } }, option));
    chart.on("click", function (event) {
      if (event.data && event.data.url) window.location.assign(event.data.url);
    });
    charts.push(chart);
  }

  const grid = { left: 8, right: 16, top: 36, bottom: 8, containLabel: true };
  const legend = { top: 0, itemWidth: 14, itemHeight: 10 };

  draw("visits", {
    grid: grid,
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.months, axisLabel: { hideOverlap: true } },
    yAxis: { type: "value", minInterval: 1 },
    series: [{ type: "bar", name: data.visits.name, data: data.visits.items, cursor: "pointer", barMaxWidth: 28 }],
  });

  draw("categories", {
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    series: [{
      type: "pie",
      radius: ["35%", "62%"],
      center: ["50%", "52%"],
      data: data.categories.filter(function (item) { return item.value > 0; }),
      label: { formatter: "{b}\n{c}", fontSize: 12 },
      labelLayout: { hideOverlap: true },
      cursor: "pointer",
    }],
  });

  draw("statuses", {
    grid: { left: 8, right: 36, top: 8, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: { type: "category", inverse: true, data: data.statuses.map(function (item) { return item.name; }) },
    series: [{
      type: "bar",
      data: data.statuses,
      colorBy: "data",
      label: { show: true, position: "right" },
      cursor: "pointer",
      barMaxWidth: 22,
    }],
  });

  draw("rates", {
    grid: grid,
    legend: legend,
    tooltip: { trigger: "axis", valueFormatter: function (value) { return value == null ? "—" : value + "%"; } },
    xAxis: { type: "category", data: data.months, axisLabel: { hideOverlap: true } },
    // From the nearest ten below the lowest rate: differences between months stay visible.
    yAxis: {
      type: "value",
      min: function (range) { return Math.max(0, Math.floor(range.min / 10) * 10 - 10); },
      max: 100,
      axisLabel: { formatter: "{value}%" },
    },
    series: data.rates.map(function (rate) {
      return { type: "line", name: rate.name, data: rate.items, cursor: "pointer", symbolSize: 6 };
    }),
  });

  draw("funnel", {
    tooltip: { trigger: "item", formatter: "{b}: {c}" },
    series: [{
      type: "funnel",
      sort: "none",
      left: "10%",
      width: "80%",
      top: 8,
      bottom: 8,
      minSize: "12%",
      gap: 2,
      data: data.funnel,
      label: { position: "inside", formatter: "{b} {c}", color: "#fff" },
      cursor: "pointer",
    }],
  });

  // Follow the width of the page: a window resized, a tablet turned, the menu opened.
  function resize() {
    charts.forEach(function (chart) { chart.resize(); });
  }
  if (window.ResizeObserver) {
    const observer = new window.ResizeObserver(resize);
    charts.forEach(function (chart) { observer.observe(chart.getDom()); });
  } else {
    window.addEventListener("resize", resize);
  }
})();
