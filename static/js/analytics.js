// /analytics: draws each <canvas data-chart> with Chart.js (static/vendor/chart.umd.min.js, from npm).
// The figures come from the page (the same as GET /api/analytics); each chart also has a table with them.
// No inline script: the app's Content-Security-Policy allows scripts from this origin only.
(() => {
  "use strict";

  const COLORS = ["#00a884", "#53bdeb", "#7f66ff", "#ff7a59"];

  const draw = (canvas) => {
    const spec = JSON.parse(canvas.dataset.chart);
    return new window.Chart(canvas, {
      type: spec.type,
      data: {
        labels: spec.labels,
        datasets: spec.datasets.map((set, i) => ({
          label: set.label,
          data: set.data,
          backgroundColor: COLORS[i % COLORS.length],
          borderColor: COLORS[i % COLORS.length],
        })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      },
    });
  };

  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    draw(canvas);
    canvas.dataset.drawn = "true";
  });

  // The dates matter only for a custom period.
  const form = document.querySelector("form.filters");
  if (form) {
    const period = form.elements.period;
    const sync = () => {
      const custom = period.value === "custom";
      form.querySelectorAll("[data-custom]").forEach((field) => {
        field.hidden = !custom;
        field.querySelector("input").disabled = !custom;
      });
    };
    period.addEventListener("change", sync);
    sync();
  }
})();
