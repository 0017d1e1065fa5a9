/* Tandem widget launcher: a button that opens the chat in an isolated frame.
   Embed with <script src="https://TANDEM/widget.js" data-workspace="KEY" async></script>.
   Nothing is stored and no cookie is set until the visitor opens the chat.
   API: Tandem.open(), Tandem.close(), Tandem.identify({user_id, user_hash, name, email}),
   Tandem.on("unread" | "open" | "close", fn), Tandem.off(name, fn). A page may also set
   window.tandemSettings = {user_id, user_hash, name, email} before the script loads;
   window fires "tandem:ready" once Tandem is there. */
(function () {
  "use strict";
  if (window.Tandem && window.Tandem.loaded) return;
  var script = document.currentScript || document.querySelector('script[src*="widget.js"][data-workspace]');
  if (!script) return;
  var workspace = script.getAttribute("data-workspace") || "";
  var origin = new URL(script.src, location.href).origin;
  var config = null, frame = null, button = null, badge = null;
  var isOpen = false, unread = 0, pendingOpen = false;
  var identity = window.tandemSettings && window.tandemSettings.user_id ? window.tandemSettings : null;
  var listeners = {};

  function emit(name, value) {
    (listeners[name] || []).slice().forEach(function (fn) {
      try { fn(value); } catch (e) { setTimeout(function () { throw e; }); }
    });
  }
  function tell(message) {
    if (frame && frame.contentWindow) frame.contentWindow.postMessage(message, origin);
  }
  function side() { return config.position === "left" ? "left:20px;" : "right:20px;"; }
  function place() {
    if (!frame) return;
    var small = window.innerWidth < 480;
    frame.style.cssText = "position:fixed;z-index:2147483647;border:0;background:#fff;color-scheme:normal;display:" + (isOpen ? "block" : "none") + ";" +
      (small ? "inset:0;width:100%;height:100%;border-radius:0"
             : side() + "bottom:84px;width:380px;height:620px;max-height:calc(100vh - 104px);border-radius:16px;" +
               "box-shadow:0 12px 48px rgba(0,0,0,.3)");
  }
  function label() {
    var text = isOpen ? config.close_text : config.launcher_text;
    var shown = unread > 0 && !isOpen;
    button.firstChild.textContent = text;
    button.setAttribute("aria-expanded", String(isOpen));
    button.setAttribute("aria-label", shown ? text + ", " + config.unread_label.replace("{n}", unread) : text);
    badge.textContent = shown ? (unread > 99 ? "99+" : String(unread)) : "";
    badge.style.display = shown ? "inline-block" : "none";
  }
  function frameSrc() {
    var q = "workspace=" + encodeURIComponent(workspace) + "&page=" + encodeURIComponent(location.href.slice(0, 2000)) +
      "&host=" + encodeURIComponent(location.origin);
    if (identity) {
      ["user_id", "user_hash", "name", "email"].forEach(function (k) {
        if (identity[k] != null && identity[k] !== "") q += "&" + k + "=" + encodeURIComponent(String(identity[k]));
      });
    }
    return origin + "/widget?" + q;
  }
  // Set once the visitor opened the chat on this site (this tab): later pages
  // load the chat hidden, so replies that come meanwhile show as unread.
  var opened = "tandem.opened." + workspace;
  function remembered() { try { return !!sessionStorage.getItem(opened); } catch (e) { return false; } }
  function ensureFrame(hidden) {
    if (frame) return;
    frame = document.createElement("iframe");
    frame.id = "tandem-frame";
    frame.title = config.frame_title;
    frame.setAttribute("allow", "clipboard-write");
    frame.src = frameSrc() + (hidden ? "&hidden=1" : "");
    document.body.appendChild(frame);
    place();
  }
  function open() {
    if (!button) { pendingOpen = true; return; }
    ensureFrame(false);
    try { sessionStorage.setItem(opened, "1"); } catch (e) { /* storage off: no hidden frame later */ }
    if (!isOpen) {
      isOpen = true;
      if (unread) { unread = 0; emit("unread", 0); }
      emit("open");
    }
    place();
    label();
    tell({ tandem: "visible", open: true });
    frame.focus();
  }
  function close() {
    if (!isOpen || !button) return;
    isOpen = false;
    place();
    label();
    tell({ tandem: "visible", open: false });
    button.focus();
    emit("close");
  }
  function identify(who) {
    var next = who && who.user_id ? who : null;
    if (JSON.stringify(next) === JSON.stringify(identity)) return;
    identity = next;
    // Another visitor: a new frame (and socket).
    if (frame) {
      frame.remove();
      frame = null;
      if (isOpen) { isOpen = false; open(); } else ensureFrame(true);
    }
  }
  window.addEventListener("message", function (event) {
    if (event.origin !== origin || !frame || event.source !== frame.contentWindow || !event.data) return;
    if (event.data.tandem === "close") close();
    if (event.data.tandem === "ready") tell({ tandem: "visible", open: isOpen });
    if (event.data.tandem === "unread" && typeof event.data.count === "number") {
      var count = isOpen ? 0 : event.data.count;
      if (count !== unread) { unread = count; label(); emit("unread", unread); }
    }
  });
  window.addEventListener("resize", place);

  function mount() {
    button = document.createElement("button");
    button.type = "button";
    button.id = "tandem-launcher";
    button.setAttribute("aria-haspopup", "dialog");
    button.appendChild(document.createTextNode(""));
    badge = document.createElement("span");
    badge.id = "tandem-unread";
    badge.setAttribute("aria-hidden", "true");
    badge.style.cssText = "display:none;margin-left:8px;min-width:20px;padding:3px 6px;border-radius:999px;background:#fff;" +
      "color:" + config.brand_color + ";font:700 12px/14px system-ui,sans-serif;text-align:center";
    button.appendChild(badge);
    button.style.cssText = "position:fixed;" + side() + "bottom:20px;z-index:2147483646;border:0;border-radius:999px;" +
      "padding:13px 20px;font:600 15px/1 system-ui,-apple-system,sans-serif;color:#fff;background:" + config.brand_color + ";" +
      "box-shadow:0 6px 24px rgba(0,0,0,.25);cursor:pointer";
    button.lang = config.language;
    button.addEventListener("click", function () { isOpen ? close() : open(); });
    label();
    document.body.appendChild(button);
    if (pendingOpen) open();
    else if (remembered()) ensureFrame(true);
  }
  fetch(origin + "/widget/config?workspace=" + encodeURIComponent(workspace), { credentials: "omit" })
    .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
    .then(function (res) {
      if (!res.ok) { console.warn("Tandem: " + (res.body && res.body.error || "the chat is unavailable")); return; }
      config = res.body;
      if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
    })
    .catch(function (e) { console.warn("Tandem: the chat is unavailable (" + e + ")"); });

  window.Tandem = {
    loaded: true,
    open: open,
    close: close,
    identify: identify,
    on: function (name, fn) { (listeners[name] = listeners[name] || []).push(fn); },
    off: function (name, fn) { listeners[name] = (listeners[name] || []).filter(function (f) { return f !== fn; }); }
  };
  window.dispatchEvent(new Event("tandem:ready"));
})();
