/* Tandem widget launcher: a button that opens the chat in an isolated frame.
   Embed with <script src="https://TANDEM/widget.js" data-workspace="KEY" async></script>.
   Nothing is stored and no cookie is set until the visitor opens the chat. */
(function () {
  "use strict";
  if (window.Tandem && window.Tandem.loaded) return;
  var script = document.currentScript || document.querySelector('script[src*="widget.js"][data-workspace]');
  if (!script) return;
  var workspace = script.getAttribute("data-workspace") || "";
  var origin = new URL(script.src, location.href).origin;
  var frame = null;
  var isOpen = false;
  var button = document.createElement("button");
  button.type = "button";
  button.id = "tandem-launcher";
  button.setAttribute("aria-haspopup", "dialog");
  button.setAttribute("aria-expanded", "false");
  button.textContent = "Chat with us";
  button.style.cssText = "position:fixed;right:20px;bottom:20px;z-index:2147483646;border:0;border-radius:999px;" +
    "padding:13px 20px;font:600 15px/1 system-ui,-apple-system,sans-serif;color:#fff;background:#b45309;" +
    "box-shadow:0 6px 24px rgba(0,0,0,.25);cursor:pointer";

  function place() {
    if (!frame) return;
    var small = window.innerWidth < 480;
    frame.style.cssText = "position:fixed;z-index:2147483647;border:0;background:#fff;display:" + (isOpen ? "block" : "none") + ";" +
      (small ? "inset:0;width:100%;height:100%;border-radius:0"
             : "right:20px;bottom:80px;width:380px;height:620px;max-height:calc(100vh - 100px);border-radius:16px;" +
               "box-shadow:0 12px 48px rgba(0,0,0,.3)");
  }
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "tandem-frame";
      frame.title = "Support chat";
      frame.setAttribute("allow", "clipboard-write");
      frame.src = origin + "/widget?workspace=" + encodeURIComponent(workspace) +
        "&page=" + encodeURIComponent(location.href.slice(0, 2000));
      document.body.appendChild(frame);
    }
    isOpen = true;
    place();
    button.textContent = "Close chat";
    button.setAttribute("aria-expanded", "true");
  }
  function close() {
    isOpen = false;
    place();
    button.textContent = "Chat with us";
    button.setAttribute("aria-expanded", "false");
    button.focus();
  }
  button.addEventListener("click", function () { isOpen ? close() : open(); });
  // The chat's own close button (needed on phones, where the chat covers the launcher).
  window.addEventListener("message", function (event) {
    if (event.origin === origin && event.data && event.data.tandem === "close") close();
  });
  window.addEventListener("resize", place);
  function mount() { document.body.appendChild(button); }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.Tandem = { loaded: true, open: open, close: close };
})();
