// The console's only script: a live per-channel preview as staff type, delivery progress
// and the dashboard that refresh themselves (the tab title counts unacknowledged
// incidents). Plain fetch + replace, in the spirit of htmx; words come from the page.
(function () {
  "use strict";

  function debounce(fn, ms) {
    let timer;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  const form = document.getElementById("update-form");
  const preview = document.getElementById("preview");
  if (form && preview) {
    const refresh = debounce(function () {
      const data = new FormData(form);
      data.delete("confirm");
      fetch(form.dataset.preview, { method: "POST", body: data, credentials: "same-origin" })
        .then(function (response) { return response.text(); })
        .then(function (html) { preview.innerHTML = html; })
        .catch(function () { preview.textContent = preview.dataset.unavailable || ""; });
    }, 300);
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    refresh();
  }

  const progress = document.getElementById("progress");
  if (progress && progress.dataset.src) {
    setInterval(function () {
      fetch(progress.dataset.src, { credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) { if (html !== null) { progress.innerHTML = html; } })
        .catch(function () {});
    }, 2000);
  }

  const live = document.getElementById("live");
  if (live && live.dataset.src) {
    let shown = null;
    setInterval(function () {
      fetch(live.dataset.src, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (data) {
          if (data === null) { return; }
          if (shown !== data.html) {
            shown = data.html;
            live.innerHTML = data.html;
          }
          document.title = data.title;
        })
        .catch(function () {});
    }, Number(live.dataset.every) || 5000);
  }
})();
