{% load i18n %}{% autoescape off %}/* Status banner for any web app: include
 *   <script src="https://status.example/widget/banner.js" data-audience="follow-app" defer></script>
 * Options (data- attributes): audience, components (comma-separated ids), interval (seconds,
 * default 30), endpoint (banner.json URL), target (CSS selector to mount into; default: top of body).
 * It never shows a silent green: when the endpoint cannot be reached, or its last answer is
 * past valid_until, it says "status unknown". It clears itself when all is well again.
 * No dependencies; text is set with textContent only.
 */
(function () {
  "use strict";
  var TEXT = {
    unknownTitle: "{% filter escapejs %}{% translate "Status unknown" %}{% endfilter %}",
    unknownText: "{% filter escapejs %}{% translate "We cannot reach the status service, so we cannot confirm that everything works. Keep your backup plan at hand." %}{% endfilter %}",
    details: "{% filter escapejs %}{% translate "Details" %}{% endfilter %}"
  };
  var script = document.currentScript;
  if (!script) return;
  var data = script.dataset;
  var origin = new URL(script.src, window.location.href);
  var endpoint = new URL(data.endpoint || "/api/v1/banner.json", origin);
  if (data.audience) endpoint.searchParams.set("audience", data.audience);
  if (data.components) endpoint.searchParams.set("components", data.components);
  var intervalMs = Math.max(parseFloat(data.interval) || 30, 1) * 1000;
  var statusPageUrl = new URL("/", origin).href;
  var answer = null;
  var reachable = true;
  var pending = true;
  var element = null;

  var COLOURS = {
    none: ["#1a7f37", "#ffffff"], minor: ["#9a6700", "#ffffff"], major: ["#bc4c00", "#ffffff"],
    critical: ["#cf222e", "#ffffff"], unknown: ["#3d444d", "#ffffff"]
  };

  function safeLink(href) {
    try {
      var url = new URL(href, origin);
      return url.protocol === "https:" || url.protocol === "http:" ? url.href : statusPageUrl;
    } catch (e) { return statusPageUrl; }
  }

  function part(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function mount(node) {
    var target = data.target && document.querySelector(data.target);
    if (target) target.appendChild(node);
    else document.body.insertBefore(node, document.body.firstChild);
  }

  function render(view) {
    if (!view) {
      if (element) element.remove();
      element = null;
      return;
    }
    var colours = COLOURS[view.severity] || COLOURS.unknown;
    var node = part("div", "statuspage-banner");
    node.id = "statuspage-banner";
    node.setAttribute("role", view.state === "operational" ? "status" : "alert");
    node.dataset.state = view.state;
    node.dataset.severity = view.severity;
    node.style.cssText = "font:15px/1.4 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;" +
      "padding:12px 16px;margin:0;background:" + colours[0] + ";color:" + colours[1] + ";";
    var title = part("strong", "statuspage-banner-title", view.title);
    node.appendChild(title);
    if (view.text) node.appendChild(part("span", "statuspage-banner-text", " " + view.text));
    if (view.advice) {
      var advice = part("p", "statuspage-banner-advice", view.advice);
      advice.style.cssText = "margin:6px 0 0;white-space:pre-line;";
      node.appendChild(advice);
    }
    var link = part("a", "statuspage-banner-link", TEXT.details);
    link.href = safeLink(view.link);
    link.style.cssText = "color:inherit;text-decoration:underline;margin-left:8px;";
    node.appendChild(link);
    if (element) element.replaceWith(node);
    else mount(node);
    element = node;
  }

  function current() {
    if (pending) return null;
    var expired = answer && Date.now() > Date.parse(answer.valid_until);
    if (!reachable || !answer || expired) {
      return {state: "unknown", severity: "unknown", title: TEXT.unknownTitle,
              text: TEXT.unknownText, advice: "", link: statusPageUrl};
    }
    if (!answer.show) return null;
    return {state: answer.status, severity: answer.severity, title: answer.title,
            text: answer.text, advice: answer.advice, link: answer.link};
  }

  function signature(view) { return view ? JSON.stringify(view) : ""; }

  var shown = null;
  function evaluate() {
    var view = current();
    if (signature(view) === shown) return;
    shown = signature(view);
    render(view);
  }

  function poll() {
    var abort = new AbortController();
    var timer = setTimeout(function () { abort.abort(); }, Math.min(intervalMs, 10000));
    fetch(endpoint.href, {cache: "no-cache", credentials: "omit", signal: abort.signal})
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (body) { answer = body; reachable = true; })
      .catch(function () { reachable = false; })
      .then(function () {
        clearTimeout(timer);
        pending = false;
        evaluate();
        setTimeout(poll, intervalMs);
      });
  }

  setInterval(evaluate, 1000);
  if (document.body) poll();
  else document.addEventListener("DOMContentLoaded", poll);
})();
{% endautoescape %}
