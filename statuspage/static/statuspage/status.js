/* The status page in the browser: times in the reader's own zone and language, "N s ago"
 * kept current, and the page body refreshed in place (no full reload) while it is open.
 * Everything works without this script; it only makes the page livelier. */
(function () {
  "use strict";
  var lang = document.documentElement.lang || undefined;
  var absolute = new Intl.DateTimeFormat(lang, {dateStyle: "medium", timeStyle: "short"});
  var relative = window.Intl && Intl.RelativeTimeFormat
    ? new Intl.RelativeTimeFormat(lang, {numeric: "auto"}) : null;

  function localise(root) {
    root.querySelectorAll("time[data-local]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (isNaN(when)) return;
      node.title = node.getAttribute("datetime");
      node.textContent = absolute.format(when);
    });
    tick(root);
  }

  function ago(seconds) {
    if (!relative) return null;
    if (seconds < 60) return relative.format(-Math.round(seconds), "second");
    if (seconds < 3600) return relative.format(-Math.round(seconds / 60), "minute");
    if (seconds < 86400) return relative.format(-Math.round(seconds / 3600), "hour");
    return relative.format(-Math.round(seconds / 86400), "day");
  }

  function tick(root) {
    (root || document).querySelectorAll("time[data-relative]").forEach(function (node) {
      var when = new Date(node.getAttribute("datetime"));
      if (isNaN(when)) return;
      var text = ago(Math.max(0, (Date.now() - when.getTime()) / 1000));
      if (text) { node.textContent = text; node.title = absolute.format(when); }
    });
  }

  function keepOpen(fresh) {
    var open = {};
    document.querySelectorAll("details[data-key]").forEach(function (d) { open[d.dataset.key] = d.open; });
    fresh.querySelectorAll("details[data-key]").forEach(function (d) {
      if (d.dataset.key in open) d.open = open[d.dataset.key];
    });
  }

  function refresh(seconds) {
    setTimeout(function again() {
      if (document.hidden) { setTimeout(again, seconds * 1000); return; }
      fetch(window.location.href, {headers: {"Accept": "text/html"}, cache: "no-cache"})
        .then(function (r) { if (!r.ok) throw new Error(r.status); return r.text(); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("status-main");
          var current = document.getElementById("status-main");
          if (!fresh || !current) return;
          keepOpen(fresh);
          localise(fresh);
          current.replaceWith(fresh);
          document.title = doc.title;
        })
        .catch(function () {})
        .then(function () { setTimeout(again, seconds * 1000); });
    }, seconds * 1000);
  }

  localise(document);
  setInterval(tick, 5000);
  var main = document.getElementById("status-main");
  var every = main && parseFloat(main.dataset.refreshSeconds);
  if (every > 0) refresh(every);
})();
