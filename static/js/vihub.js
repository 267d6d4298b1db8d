/* VIHub page behaviour: charts (Chart.js, vendored) and focus management after form errors.
   Everything works without JavaScript; this only enhances. */
(function () {
  "use strict";

  var COLOURS = {
    escalated: "#6d35a0",
    paused: "#8792a0",
    overdue: "#b42318",
    due_soon: "#d18a00",
    on_time: "#1a7f37",
    events: "#1d63a8",
    refused: "#b42318",
    funnel: "#1d63a8",
    days: "#0b3d6b",
    justice: "#5b2a86",
    safeguarding: "#1a7f37"
  };

  function drawCharts(root) {
    if (!window.Chart) { return; }
    window.Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    window.Chart.defaults.color = "#3b4754";
    root.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var source = document.getElementById(canvas.dataset.chart);
      if (!source) { return; }
      var data = JSON.parse(source.textContent);
      // Kinds: bar, bar-stacked, hbar (horizontal), hbar-stacked.
      var kind = canvas.dataset.kind || "bar";
      var horizontal = kind.indexOf("hbar") === 0;
      var stacked = /-stacked$/.test(kind);
      new window.Chart(canvas, {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: data.series.map(function (s) {
            return { label: s.label, data: s.data, backgroundColor: COLOURS[s.key] || "#5b6672",
                     borderRadius: 3, maxBarThickness: 26 };
          })
        },
        options: {
          indexAxis: horizontal ? "y" : "x",
          responsive: true,
          maintainAspectRatio: false,
          animation: false,
          plugins: { legend: { display: data.series.length > 1, position: "bottom",
                               labels: { boxWidth: 12, boxHeight: 12 } } },
          scales: {
            x: { stacked: stacked, grid: { display: !horizontal }, ticks: { precision: 0 }, beginAtZero: true },
            y: { stacked: stacked, grid: { display: horizontal ? false : true }, ticks: { precision: 0 }, beginAtZero: true }
          }
        }
      });
      canvas.dataset.drawn = "1";
    });
  }

  // A "Copy" button next to a value shown once (a signing secret).
  function copyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (!navigator.clipboard) { button.hidden = true; return; }
      button.addEventListener("click", function () {
        var source = document.getElementById(button.dataset.copy);
        navigator.clipboard.writeText(source.textContent.trim()).then(function () {
          button.textContent = "Copied";
        });
      });
    });
  }

  function focusErrors(root) {
    var summary = root.querySelector("[data-error-summary]");
    if (summary) { summary.focus(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    copyButtons(document);
    focusErrors(document);
  });
  // Signing in again (say in another tab, after the session ended) gives a new CSRF token: send
  // the current one, so a form that waited keeps working and what was typed in it is saved.
  document.addEventListener("htmx:configRequest", function (event) {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (!match) { return; }
    var token = decodeURIComponent(match[1]);
    event.detail.headers["X-CSRFToken"] = token;
    var elt = event.detail.elt;
    var form = elt && (elt.tagName === "FORM" ? elt : elt.closest && elt.closest("form"));
    if (form && form.querySelector("[name=csrfmiddlewaretoken]")) {
      event.detail.parameters["csrfmiddlewaretoken"] = token;
    }
  });

  // A panel's request answered with a whole page (the session ended, so the sign-in page or the
  // "form expired" page came back): never put that page inside the card. Keep the form and what
  // was typed in it, and say what happened and what to do.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var text = (event.detail.xhr && event.detail.xhr.responseText) || "";
    if (!/^\s*<!doctype html/i.test(text)) { return; }
    event.detail.shouldSwap = false;
    var panel = event.detail.target;
    var old = panel.querySelector("[data-session-ended]");
    if (old) { old.remove(); }
    var note = document.createElement("div");
    note.className = "callout warn";
    note.setAttribute("role", "alert");
    note.setAttribute("data-session-ended", "");
    note.tabIndex = -1;
    note.innerHTML = "<p><strong>Not saved: your session has ended.</strong> " +
      "<a href=\"/login/\" target=\"_blank\" rel=\"noopener\">Sign in again in a new tab</a>, " +
      "then come back and press the button again. What you typed is still here.</p>";
    panel.insertBefore(note, panel.firstChild);
    note.focus();
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    drawCharts(event.target);
    focusErrors(event.target);
  });
})();
