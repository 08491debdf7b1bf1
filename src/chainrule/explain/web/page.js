// chainrule's worked-solution page. Every number is in the page already (written by Python); this only
// links the picture and the lines by quantity name: a line <tr class="line" data-items="z[1] …"> lights
// the picture's elements [data-qid="z[1]"]; an element lights the lines whose data-items name it.
(function () {
  "use strict";
  var lines = Array.prototype.slice.call(document.querySelectorAll("#derivation tr.line"));
  var parts = Array.prototype.slice.call(document.querySelectorAll("#picture [data-qid]"));
  var where = document.getElementById("where");
  var current = -1;
  function itemsOf(line) { return (line.getAttribute("data-items") || "").split(" ").filter(Boolean); }
  function clear() {
    document.querySelectorAll(".on, .current").forEach(function (el) { el.classList.remove("on", "current"); });
  }
  function lightParts(names) {
    parts.forEach(function (p) { if (names.indexOf(p.getAttribute("data-qid")) >= 0) { p.classList.add("on"); } });
  }
  function lightLine(line) { clear(); line.classList.add("on"); lightParts(itemsOf(line)); }
  function lightPart(part) {
    clear();
    var q = part.getAttribute("data-qid");
    part.classList.add("on");
    lines.forEach(function (l) { if (itemsOf(l).indexOf(q) >= 0) { l.classList.add("on"); } });
  }
  function show(k) {
    if (!lines.length) { return; }
    current = Math.max(0, Math.min(lines.length - 1, k));
    var line = lines[current];
    lightLine(line);
    line.classList.add("current");
    line.scrollIntoView({ block: "nearest" });
    where.textContent = "step " + (current + 1) + " of " + lines.length + " (" + (line.getAttribute("data-phase") || "") + ")";
  }
  lines.forEach(function (l) {
    l.addEventListener("mouseenter", function () { if (current < 0) { lightLine(l); } });
    l.addEventListener("click", function () { show(lines.indexOf(l)); });
  });
  parts.forEach(function (p) {
    p.addEventListener("mouseenter", function () { if (current < 0) { lightPart(p); } });
    p.addEventListener("click", function () { current = -1; where.textContent = ""; lightPart(p); });
  });
  document.getElementById("next").addEventListener("click", function () { show(current + 1); });
  document.getElementById("prev").addEventListener("click", function () { show(current - 1); });
  document.getElementById("reset").addEventListener("click", function () { current = -1; clear(); where.textContent = ""; });
  document.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowRight" || ev.key === "n") { show(current + 1); }
    if (ev.key === "ArrowLeft" || ev.key === "p") { show(current - 1); }
  });
})();
