/* dvc-bot web chat: the page (or the widget's frame) talks to POST /chat/api/message.
   No framework. Every text is put in with textContent, never as HTML. The conversation is kept
   in sessionStorage under the session's tag, so it survives a reload of the page. */
(function () {
  "use strict";
  var root = document.getElementById("dvc-chat");
  if (!root || !window.fetch || !window.JSON) return;
  var log = document.getElementById("dvc-log");
  var form = document.getElementById("dvc-form");
  var input = document.getElementById("dvc-input");
  var status = document.getElementById("dvc-status");
  var words = JSON.parse(root.getAttribute("data-words"));
  var csrf = root.getAttribute("data-csrf");
  var lang = root.getAttribute("data-lang");
  var embed = root.getAttribute("data-embed") === "1";
  var KEY = "dvcbot-chat";
  var KEEP = 80;
  var LINK = /(https?:\/\/[^\s<>"'()]+[^\s<>"'().,;:!?])|\b(1[89]00 ?\d{4}|0\d{9,10})\b/g;
  var items = [];
  var busy = false;
  var after = 0;  /* the last staff answer fetched (hand-over tickets) */
  var waiting = false;
  var timer = null;
  var POLL_MS = 10000;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text) node.textContent = text;
    return node;
  }

  function hidden(text) {
    return el("span", "sr", text);
  }

  function newWindow(a) {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
    a.appendChild(hidden(" " + words.new_window));
  }

  function rich(box, text) {
    var last = 0;
    var m;
    LINK.lastIndex = 0;
    while ((m = LINK.exec(text))) {
      box.appendChild(document.createTextNode(text.slice(last, m.index)));
      var a = el("a", "", m[0]);
      if (m[1]) {
        a.href = m[1];
        newWindow(a);
      } else {
        a.href = "tel:" + m[2].replace(" ", "");
      }
      box.appendChild(a);
      last = m.index + m[0].length;
    }
    box.appendChild(document.createTextNode(text.slice(last)));
  }

  function mine(text) {
    var box = el("div", "msg me");
    box.appendChild(hidden(words.you + ": "));
    box.appendChild(document.createTextNode(text));
    return box;
  }

  function button(b) {
    var node;
    if (b.url && /^https?:\/\//i.test(b.url)) {
      node = el("a", "btn", b.label);
      node.href = b.url;
      newWindow(node);
    } else if (b.action) {
      node = el("button", "btn", b.label);
      node.type = "button";
      node.setAttribute("data-action", b.action);
    }
    return node;
  }

  function theirs(reply, replyLang) {
    var box = el("div", "msg bot");
    if (replyLang) box.lang = replyLang;
    box.appendChild(hidden(words.bot + ": "));
    if (reply.title) box.appendChild(el("p", "title", reply.title));
    var text = el("div", "text");
    rich(text, reply.text || "");
    box.appendChild(text);
    (reply.buttons || []).forEach(function (row) {
      var group = el("div", "btns");
      row.forEach(function (b) {
        var node = button(b);
        if (node) group.appendChild(node);
      });
      if (group.firstChild) box.appendChild(group);
    });
    return box;
  }

  function show(item) {
    var box = item.t === "me" ? mine(item.x) : theirs(item.r, item.l);
    log.appendChild(box);
    return box;
  }

  function save() {
    items = items.slice(-KEEP);
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ tag: root.getAttribute("data-tag"), items: items,
        after: after, poll: waiting }));
    } catch (e) { /* private mode or full: the conversation still works, without reloads */ }
  }

  function add(item) {
    items.push(item);
    save();
    return show(item);
  }

  function restore() {
    try {
      var kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
      if (kept && kept.tag === root.getAttribute("data-tag") && kept.items) return kept;
    } catch (e) { /* nothing kept */ }
    return null;
  }

  function refresh() {
    return fetch("/chat/api/session" + (embed ? "?embed=1" : ""), { credentials: "same-origin" })
      .then(function (res) { return res.json(); })
      .then(function (data) {
        csrf = data.csrf;
        if (data.tag !== root.getAttribute("data-tag")) {
          root.setAttribute("data-tag", data.tag);
          save();
        }
      });
  }

  /* While a hand-over ticket is open, ask for staff answers every POLL_MS. */
  function poll() {
    fetch("/chat/api/updates?after=" + after, { credentials: "same-origin" })
      .then(function (res) { return res.ok ? res.json() : null; })
      .then(function (data) {
        if (!data) return;
        data.replies.forEach(function (reply) { add({ t: "bot", r: reply, l: lang }); });
        after = data.next;
        watch(data.poll);
      }, function () { /* offline for now: the next round asks again */ });
  }

  function watch(on) {
    waiting = !!on;
    if (waiting && !timer) timer = setInterval(poll, POLL_MS);
    if (!waiting && timer) {
      clearInterval(timer);
      timer = null;
    }
    save();
  }

  function post(payload, retry) {
    return fetch("/chat/api/message", {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(payload)
    }).then(function (res) {
      if ((res.status === 401 || res.status === 403) && retry) {
        return refresh().then(function () { return post(payload, false); });
      }
      if (res.status === 429) throw words.slow;
      if (res.status === 413) throw words.long;
      if (!res.ok) throw words.error;
      return res.json();
    });
  }

  function send(payload, shown, then) {
    if (busy) return;
    busy = true;
    if (shown) add({ t: "me", x: shown });
    status.textContent = words.waiting;
    payload.lang = lang;
    post(payload, true).then(function (data) {
      status.textContent = "";
      var first = null;
      data.replies.forEach(function (reply) {
        var box = add({ t: "bot", r: reply, l: data.lang });
        first = first || box;
      });
      if (first) log.scrollTop = first.offsetTop - 8;
      if (data.poll !== waiting) watch(data.poll);
      if (then) then(data);
    }, function (problem) {
      status.textContent = typeof problem === "string" ? problem : words.error;
    }).then(function () {
      busy = false;
    });
  }

  function grow() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight + 2, 128) + "px";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    grow();
    send({ text: text }, text);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit ? form.requestSubmit() : form.dispatchEvent(new Event("submit"));
    } else if (event.key === "Escape" && embed && window.parent !== window) {
      window.parent.postMessage("dvcbot:close", "*");
    }
  });
  input.addEventListener("input", grow);

  root.addEventListener("click", function (event) {
    var target = event.target.closest ? event.target.closest("button[data-action]") : null;
    if (!target || busy) return;
    var switchTo = target.getAttribute("data-switch");
    send({ action: target.getAttribute("data-action") }, target.textContent, function () {
      if (switchTo) {
        var url = new URL(location.href);
        url.searchParams.set("lang", switchTo);
        location.replace(url.toString());
      }
    });
  });

  var restart = document.getElementById("dvc-new");
  if (restart) {
    restart.addEventListener("click", function () {
      if (busy) return;
      items = [];
      save();
      log.textContent = "";
      send({ text: "/start" }, null);
      input.focus();
    });
  }

  var kept = restore();
  if (kept && kept.items.length) {
    log.setAttribute("aria-live", "off");  /* do not read the whole conversation out again */
    items = kept.items;
    after = kept.after || 0;
    items.forEach(show);
    if (kept.poll) {
      watch(true);
      poll();
    }
    log.scrollTop = log.scrollHeight;
    setTimeout(function () { log.setAttribute("aria-live", "polite"); }, 0);
  } else {
    send({ text: "/start" }, null);
  }
  if (embed) input.focus();
})();
