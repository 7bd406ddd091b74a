// Progressive enhancement: the pages work without this. With it, an element marked
// data-refresh="EVENT ..." reloads its own HTML from data-src (or the page's URL) when one of the named
// server-sent events arrives on /events, and the header says whether the stream is live.
(function () {
  "use strict";
  var source = document.body && document.body.getAttribute("data-events");
  if (!source || !window.EventSource) { return; }
  var status = document.querySelector(".live");
  var stream = new EventSource(source);

  function refresh(element) {
    var url = element.getAttribute("data-src") || window.location.pathname;
    fetch(url, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (reply) { return reply.ok ? reply.text() : null; })
      .then(function (html) {
        if (html === null) { return; }
        var page = new DOMParser().parseFromString(html, "text/html");
        var fresh = element.id ? page.getElementById(element.id) : null;
        if (fresh) { element.replaceWith(fresh); }
      });
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
