/* dvc-bot chat widget. One tag on the portal's pages:
     <script src="https://CHAT-SERVER/widget.js" data-lang="vi" defer></script>
   It adds a chat button in the corner, inside a Shadow DOM (the page's styles do not reach it);
   the chat itself opens in a frame from the chat server, created on the first click only.
   The server fills in CONFIG: the origins allowed to embed (WEB_ALLOWED_ORIGINS) and the words. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.dvcbotWidget || !document.documentElement.attachShadow) return;
  var config = /*CONFIG*/null || { origins: [], words: {} };
  var base = new URL(script.src, location.href).origin;
  if (location.origin !== base && config.origins.indexOf(location.origin) < 0) {
    if (window.console) console.warn("dvcbot widget: " + location.origin + " is not in WEB_ALLOWED_ORIGINS");
    return;
  }
  var asked = (script.getAttribute("data-lang") || document.documentElement.lang || "vi").slice(0, 2).toLowerCase();
  var lang = config.words[asked] ? asked : "vi";
  var words = config.words[lang] || { widget_open: "Chat", widget_close: "Close", title: "Chat" };
  var OPEN = "dvcbot-open";
  var CSS = ":host{all:initial}" +
    "*{box-sizing:border-box}" +
    ".open{position:fixed;right:16px;bottom:16px;z-index:2147483000;display:flex;align-items:center;gap:8px;" +
    "min-height:48px;padding:10px 18px;border:2px solid #fff;border-radius:28px;background:#0b4a8b;color:#fff;" +
    "font:600 16px/1.2 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif;cursor:pointer;" +
    "box-shadow:0 4px 14px rgba(0,0,0,.35)}" +
    ".open:hover{background:#073a6e}" +
    ".open[aria-expanded=true]{display:none}" +
    ".open svg{width:22px;height:22px;fill:currentColor}" +
    "button:focus-visible{outline:3px solid #111827;outline-offset:2px}" +
    ".panel{position:fixed;right:16px;bottom:16px;z-index:2147483000;width:380px;max-width:calc(100vw - 32px);" +
    "height:640px;max-height:calc(100vh - 32px);display:flex;flex-direction:column;background:#fff;" +
    "border-radius:12px;overflow:hidden;box-shadow:0 8px 30px rgba(0,0,0,.35)}" +
    ".panel[hidden]{display:none}" +
    ".bar{display:flex;align-items:center;justify-content:space-between;gap:8px;padding:4px 4px 4px 14px;" +
    "background:#0b4a8b;color:#fff;font:600 15px/1.3 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}" +
    ".close{width:44px;height:44px;border:0;border-radius:8px;background:transparent;color:#fff;" +
    "font:400 26px/1 system-ui,sans-serif;cursor:pointer}" +
    ".close:focus-visible{outline-color:#fff;outline-offset:-4px}" +
    "iframe{flex:1;width:100%;border:0;background:#fff}" +
    "@media (max-width:480px){.panel{top:0;left:0;right:0;bottom:0;width:100%;max-width:none;height:100%;" +
    "max-height:none;border-radius:0}}" +
    "@media print{.open,.panel{display:none}}";
  var NS = "http://www.w3.org/2000/svg";

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function icon() {
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("aria-hidden", "true");
    svg.setAttribute("focusable", "false");
    var path = document.createElementNS(NS, "path");
    path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6v2h2V9H7zm4 0v2h2V9h-2zm4 0v2h2V9h-2z");
    svg.appendChild(path);
    return svg;
  }

  function mount() {
    var host = el("div");
    host.setAttribute("data-dvcbot", "");
    var shadow = host.attachShadow({ mode: "open" });
    var style = el("style");
    style.textContent = CSS;
    var open = el("button", "open");
    open.type = "button";
    open.setAttribute("aria-expanded", "false");
    open.setAttribute("aria-controls", "dvcbot-panel");
    open.appendChild(icon());
    open.appendChild(el("span", "", words.widget_open));
    var panel = el("div", "panel");
    panel.id = "dvcbot-panel";
    panel.hidden = true;
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-label", words.title);
    var bar = el("div", "bar");
    bar.appendChild(el("span", "", words.title));
    var close = el("button", "close", "\u00d7");
    close.type = "button";
    close.setAttribute("aria-label", words.widget_close);
    bar.appendChild(close);
    panel.appendChild(bar);
    shadow.appendChild(style);
    shadow.appendChild(open);
    shadow.appendChild(panel);
    var frame = null;

    function show(on, focus) {
      panel.hidden = !on;
      open.setAttribute("aria-expanded", on ? "true" : "false");
      if (on && !frame) {
        frame = el("iframe");
        frame.title = words.title;
        frame.src = base + "/chat?embed=1&lang=" + encodeURIComponent(lang);
        panel.appendChild(frame);
      }
      try { sessionStorage.setItem(OPEN, on ? "1" : ""); } catch (e) { /* no storage */ }
      if (focus) (on ? frame : open).focus();
    }

    open.addEventListener("click", function () { show(true, true); });
    close.addEventListener("click", function () { show(false, true); });
    shadow.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && !panel.hidden) show(false, true);
    });
    window.addEventListener("message", function (event) {
      if (frame && event.source === frame.contentWindow && event.origin === base &&
          event.data === "dvcbot:close") show(false, true);
    });
    document.body.appendChild(host);
    window.dvcbotWidget = { open: function () { show(true, true); }, close: function () { show(false, true); } };
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(OPEN) === "1"; } catch (e) { /* no storage */ }
    if (wasOpen) show(true, false);
  }

  window.dvcbotWidget = {};
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
