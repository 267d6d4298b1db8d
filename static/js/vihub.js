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
    spoke: "#1d63a8",
    national: "#5b6672",
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
      var line = kind === "line";  // a month without a value is a gap, not a zero
      new window.Chart(canvas, {
        type: line ? "line" : "bar",
        data: {
          labels: data.labels,
          datasets: data.series.map(function (s) {
            var colour = COLOURS[s.key] || "#5b6672";
            return line
              ? { label: s.label, data: s.data, borderColor: colour, backgroundColor: colour, spanGaps: false,
                  tension: 0.2, pointRadius: 3, borderDash: s.key === "national" ? [6, 4] : [] }
              : { label: s.label, data: s.data, backgroundColor: colour, borderRadius: 3, maxBarThickness: 26 };
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

  // Below 900 px the navigation folds behind a "Menu" button (CSS keys on .has-menu, so without
  // JavaScript the links simply wrap). Escape closes it and gives the button the focus back.
  function menu() {
    var button = document.querySelector("header.top .menu-toggle");
    if (!button) { return; }
    var header = button.closest("header");
    document.documentElement.classList.add("has-menu");
    button.hidden = false;
    function set(open) {
      header.classList.toggle("open", open);
      button.setAttribute("aria-expanded", open ? "true" : "false");
    }
    button.addEventListener("click", function () { set(!header.classList.contains("open")); });
    header.addEventListener("keydown", function (key) {
      if (key.key === "Escape" && header.classList.contains("open")) { set(false); button.focus(); }
    });
  }

  // Phones: each list table's cells carry their column's name, so CSS can stack a row into a
  // labelled block. Only tables with one header row and no merged header cells (report grids
  // keep scrolling sideways).
  function stackTables(root) {
    root.querySelectorAll("table.data").forEach(function (table) {
      if (table.classList.contains("stacked") || !table.tHead || table.tHead.rows.length !== 1) { return; }
      var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
      if (heads.some(function (cell) { return cell.colSpan > 1; })) { return; }
      var labels = heads.map(function (cell) { return cell.textContent.replace(/\s+/g, " ").trim(); });
      Array.prototype.forEach.call(table.tBodies, function (body) {
        Array.prototype.forEach.call(body.rows, function (row) {
          var column = 0;
          Array.prototype.forEach.call(row.cells, function (cell) {
            cell.setAttribute("data-label", cell.colSpan > 1 ? "" : (labels[column] || ""));
            column += cell.colSpan;
          });
        });
      });
      table.classList.add("stacked");
    });
  }

  // The review timer on a task page: start it when reviewing begins; stop puts the minutes
  // (rounded up, at least 1) in the exposure form's box and moves the focus to "Log time".
  // Nothing is sent until the officer logs it; a reload loses only the running timer.
  function reviewTimer(root) {
    root.querySelectorAll("button[data-review-timer]").forEach(function (button) {
      if (button.dataset.ready) { return; }
      button.dataset.ready = "1";
      var form = button.closest("form");
      var minutes = form.querySelector("input[name=minutes]");
      var shown = form.querySelector("[data-review-timer-shown]");
      var submit = form.querySelector("button[type=submit]");
      var started = null;
      var tick = null;
      button.hidden = false;
      function elapsed() { return Math.max(1, Math.ceil((Date.now() - started) / 60000)); }
      button.addEventListener("click", function () {
        if (started === null) {
          started = Date.now();
          button.textContent = "Stop review timer";
          button.setAttribute("aria-pressed", "true");
          shown.textContent = "Timing your review…";
          tick = window.setInterval(function () {
            shown.textContent = "Reviewing for " + elapsed() + " min";
          }, 30000);
        } else {
          window.clearInterval(tick);
          minutes.value = String(elapsed());
          shown.textContent = minutes.value + " min timed: press Log time to record it.";
          started = null;
          button.textContent = "Start review timer";
          button.setAttribute("aria-pressed", "false");
          submit.focus();
        }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    menu();
    reviewTimer(document);
    stackTables(document);
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

  // Sign in again without leaving the page: the sign-in form's own token, the sign-in itself,
  // then the code from the person's app on the second-factor page it leads to. Resolves with ""
  // when signed in, or with the page's own message.
  function tokenOf(html) {
    var token = new DOMParser().parseFromString(html, "text/html").querySelector("[name=csrfmiddlewaretoken]");
    return token ? token.value : "";
  }
  function problemOf(html, fallback) {
    var said = new DOMParser().parseFromString(html, "text/html").querySelector(".error-summary p");
    return (said && said.textContent.trim()) || fallback;
  }
  function pathOf(answer) { return new URL(answer.url).pathname; }
  function enterCode(answer, code) {
    if (/^\/two-factor\/enrol\/?$/.test(pathOf(answer))) {
      return "Set up your second factor first: sign in in a new tab.";
    }
    if (!/^\/two-factor\/?$/.test(pathOf(answer))) { return ""; }  // both factors done
    return answer.text().then(function (html) {
      var body = new URLSearchParams();
      body.set("code", code);
      body.set("next", new URL(answer.url).searchParams.get("next") || "/");
      body.set("csrfmiddlewaretoken", tokenOf(html));
      return fetch(answer.url, { method: "POST", body: body, credentials: "same-origin" });
    }).then(function (again) {
      if (!/^\/two-factor\/?$/.test(pathOf(again))) { return ""; }
      return again.text().then(function (html) { return problemOf(html, "That code did not sign you in."); });
    });
  }
  function signInAgain(username, password, code) {
    return fetch("/login/", { credentials: "same-origin" }).then(function (answer) {
      if (!/^\/login\/?$/.test(pathOf(answer))) { return enterCode(answer, code); }  // signed in elsewhere
      return answer.text().then(function (html) {
        var body = new URLSearchParams();
        body.set("username", username);
        body.set("password", password);
        body.set("csrfmiddlewaretoken", tokenOf(html));
        return fetch("/login/", { method: "POST", body: body, credentials: "same-origin" });
      }).then(function (answer) {
        if (/^\/login\/?$/.test(pathOf(answer))) {
          return answer.text().then(function (html) { return problemOf(html, "Those details did not sign you in."); });
        }
        return enterCode(answer, code);
      });
    });
  }

  // A panel's request answered with a whole page (the session ended, so the sign-in page or the
  // "form expired" page came back): never put that page inside the card. Keep the form and what
  // was typed in it, ask the person to sign in again right here, then send what they typed.
  // (No <form> and no field names: the note may sit inside the panel's own form.)
  document.addEventListener("htmx:beforeSwap", function (event) {
    var text = (event.detail.xhr && event.detail.xhr.responseText) || "";
    if (!/^\s*<!doctype html/i.test(text)) { return; }
    event.detail.shouldSwap = false;
    var panel = event.detail.target;
    var config = event.detail.requestConfig || {};
    var elt = config.elt;
    var trigger = config.triggeringEvent;
    var submitter = trigger && trigger.submitter;
    var old = panel.querySelector("[data-session-ended]");
    if (old) { old.remove(); }
    var note = document.createElement("div");
    var id = "signin-" + Date.now();
    note.className = "callout warn session-ended";
    note.setAttribute("role", "alert");
    note.setAttribute("data-session-ended", "");
    note.tabIndex = -1;
    note.innerHTML = "<p><strong>Not saved: your session has ended.</strong> " +
      "Sign in again here and what you typed is sent. It is still on this page.</p>" +
      "<div class=\"signin-again\">" +
      "<div class=\"field\"><label for=\"" + id + "-u\">Username</label>" +
      "<input id=\"" + id + "-u\" type=\"text\" autocomplete=\"username\" autocapitalize=\"none\"></div>" +
      "<div class=\"field\"><label for=\"" + id + "-p\">Password</label>" +
      "<input id=\"" + id + "-p\" type=\"password\" autocomplete=\"current-password\"></div>" +
      "<div class=\"field\"><label for=\"" + id + "-c\">Code from your app</label>" +
      "<input id=\"" + id + "-c\" type=\"text\" autocomplete=\"one-time-code\" autocapitalize=\"none\"></div>" +
      "<button type=\"button\">Sign in and save</button>" +
      "<p class=\"error\" data-signin-error hidden></p>" +
      "<p class=\"fine\">Or <a href=\"/login/\" target=\"_blank\" rel=\"noopener\">sign in in a new tab</a>, " +
      "then press the form's button again.</p></div>";
    panel.insertBefore(note, panel.firstChild);
    var button = note.querySelector("button");
    var error = note.querySelector("[data-signin-error]");
    function go() {
      var username = note.querySelector("#" + id + "-u").value;
      var password = note.querySelector("#" + id + "-p").value;
      var code = note.querySelector("#" + id + "-c").value;
      if (!username || !password || !code) {
        error.textContent = "Enter your username, password and the code from your app.";
        error.hidden = false;
        return;
      }
      button.disabled = true;
      signInAgain(username, password, code).then(function (problem) {
        button.disabled = false;
        if (problem) { error.textContent = problem; error.hidden = false; return; }
        note.remove();
        if (elt && elt.tagName === "FORM" && elt.requestSubmit) {
          elt.requestSubmit(submitter && elt.contains(submitter) ? submitter : undefined);
        } else if (elt && window.htmx) {
          window.htmx.trigger(elt, (trigger && trigger.type) || "click");
        }
      }, function () {
        button.disabled = false;
        error.textContent = "VIHub could not be reached. Check the connection and try again.";
        error.hidden = false;
      });
    }
    button.addEventListener("click", go);
    note.addEventListener("keydown", function (key) {
      if (key.key === "Enter" && key.target.tagName === "INPUT") { key.preventDefault(); go(); }
    });
    note.focus();
  });
  // The server failed (a 5xx) or could not be reached: say so in the panel, briefly, and keep the
  // form and what was typed in it (nothing was swapped).
  function failed(event, said) {
    var panel = event.detail.target || (event.detail.elt && event.detail.elt.closest("section"));
    if (!panel) { return; }
    var old = panel.querySelector("[data-request-failed]");
    if (old) { old.remove(); }
    var note = document.createElement("div");
    note.className = "callout danger";
    note.setAttribute("role", "alert");
    note.setAttribute("data-request-failed", "");
    note.tabIndex = -1;
    note.innerHTML = "<p><strong>Not saved: " + said + "</strong> What you typed is still here: " +
      "try again in a moment. If it keeps happening, tell the service desk the time it happened.</p>";
    panel.insertBefore(note, panel.firstChild);
    note.focus();
  }
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    failed(event, "VIHub could not do that just now (error " + status + ").");
  });
  document.addEventListener("htmx:sendError", function (event) {
    failed(event, "VIHub could not be reached.");
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    var panel = event.detail.target;
    var old = panel && panel.querySelector && panel.querySelector("[data-request-failed]");
    if (old) { old.remove(); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    stackTables(event.target);
    drawCharts(event.target);
    focusErrors(event.target);
  });
})();
