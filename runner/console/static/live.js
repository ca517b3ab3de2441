// The run's page while the run is going: every few seconds, its progress from live.json, put in the page as
// text (never as HTML: keys and errors come from data and pages). When the run ends, the page is loaded again
// to show all it left (steps, files, the audit log's verdict). Without this script, a reload shows the same.
"use strict";

(function () {
  const section = document.getElementById("live");
  if (!section || section.dataset.running !== "true") {
    return;
  }
  const url = section.dataset.url;
  const MAX_NETWORK_FAILURES = 5;
  let delay = 2000;
  let failures = 0;

  function setText(id, text) {
    const element = document.getElementById(id);
    if (element) {
      element.textContent = text;
    }
  }

  function fillList(id, entries, parts) {
    const list = document.getElementById(id);
    if (!list) {
      return;
    }
    const items = entries.map(function (entry) {
      const item = document.createElement("li");
      parts.forEach(function (part, index) {
        if (index > 0) {
          item.appendChild(document.createTextNode(" "));
        }
        const span = document.createElement("span");
        span.className = part[1];
        span.textContent = String(entry[part[0]] ?? "");
        item.appendChild(span);
      });
      return item;
    });
    list.replaceChildren(...items);
  }

  function show(progress) {
    const status = document.getElementById("run-status");
    if (status) {
      status.textContent = progress.status_text;
      status.className = "status-" + progress.status;
    }
    ["done", "failed", "to_check", "left"].forEach(function (name) {
      setText("live-" + name, progress.numbers[name]);
    });
    setText("live-failures-total", progress.numbers.failed);
    const bar = document.getElementById("live-bar");
    if (bar && progress.total) {
      bar.max = progress.total;
      bar.value = progress.finished;
      bar.textContent = progress.numbers.finished;
    }
    fillList("live-current", progress.current, [["key", "key"], ["since", "since"]]);
    fillList("live-failures", progress.failures, [["key", "key"], ["at", "at"], ["error", "error"]]);
  }

  function poll() {
    if (document.hidden) {
      window.setTimeout(poll, delay);
      return;
    }
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok || !(response.headers.get("content-type") || "").startsWith("application/json")) {
          throw new Error("not the progress: " + response.status); // logged out, or the run is gone
        }
        return response.json();
      })
      .then(function (progress) {
        failures = 0;
        show(progress);
        if (progress.running) {
          delay = (progress.poll_seconds || 2) * 1000;
          window.setTimeout(poll, delay);
        } else {
          window.location.reload();
        }
      })
      .catch(function (error) {
        if (error instanceof TypeError && failures < MAX_NETWORK_FAILURES) {
          failures += 1; // the network or the console restarting: try again, less often
          window.setTimeout(poll, delay * 2 ** failures);
          return;
        }
        section.dataset.running = "false"; // stop: a reload says why (the login page, a missing run)
      });
  }

  window.setTimeout(poll, delay);
})();
