// Progressive enhancement: the pages work without this. With it, an element marked
// data-refresh="EVENT ..." reloads its own HTML from data-src (or the page's URL) when one of the named
// server-sent events arrives on /events, and the header says whether the stream is live. A part someone is
// typing in is not replaced under their hands: it says that it changed, and offers to show the changes.
// A step's log opens at its end, where a failure says why.
(function () {
  "use strict";

  function toEnd(root) {
    root.querySelectorAll("pre.log").forEach(function (log) { log.scrollTop = log.scrollHeight; });
  }
  toEnd(document);
  document.addEventListener("toggle", function (event) {
    if (event.target.open) { toEnd(event.target); }
  }, true);

  var source = document.body && document.body.getAttribute("data-events");
  if (!source || !window.EventSource) { return; }
  var status = document.querySelector(".live");
  var stream = new EventSource(source);

  function busy(element) {
    if (element.contains(document.activeElement) && document.activeElement !== element) { return true; }
    return Array.prototype.some.call(element.querySelectorAll("input[type=text], textarea"), function (field) {
      return field.value !== "";
    });
  }

  function offer(element) {
    if (element.querySelector(".stale")) { return; }
    var note = document.createElement("p");
    note.className = "stale";
    note.setAttribute("role", "status");
    note.textContent = "This part has changed. ";
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = "Show the changes";
    button.addEventListener("click", function () { load(element); });
    note.appendChild(button);
    element.insertBefore(note, element.firstChild);
  }

  function load(element) {
    var url = element.getAttribute("data-src") || window.location.pathname;
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (reply) { return reply.ok ? reply.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = element.id ? page.getElementById(element.id) : null;
        if (fresh) { element.replaceWith(fresh); toEnd(fresh); }
      });
  }

  function refresh(element) {
    if (busy(element)) { offer(element); } else { load(element); }
  }

  function listen(name) {
    stream.addEventListener(name, function () {
      document.querySelectorAll("[data-refresh]").forEach(function (element) {
        if (element.getAttribute("data-refresh").split(/\s+/).indexOf(name) >= 0) { refresh(element); }
      });
    });
  }

  ["run", "pipeline", "config"].forEach(listen);
  stream.onopen = function () { if (status) { status.textContent = "live"; } };
  stream.onerror = function () { if (status) { status.textContent = "reconnecting"; } };
})();
