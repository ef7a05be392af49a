// fieldbridge import pages: drag and drop, editing cells in place, leaving
// rows out and live progress. Every page works without this script; it
// only saves page loads.
(function () {
  "use strict";
  document.body.classList.add("js");
  var csrf = document.body.getAttribute("data-csrf") || "";

  function post(url, fields) {
    var body = new URLSearchParams();
    body.set("csrf", csrf);
    Object.keys(fields).forEach(function (k) { body.set(k, fields[k]); });
    return fetch(url, {
      method: "POST", body: body, credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": csrf }
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { throw new Error(j.error || r.statusText); }
        return j;
      });
    });
  }

  function showError(msg) {
    var box = document.getElementById("live-error");
    if (!box) { alert(msg); return; }
    box.textContent = msg;
    box.hidden = !msg;
  }

  // ---- drop ----
  var drop = document.querySelector("form.drop");
  if (drop) {
    var input = drop.querySelector("input[type=file]");
    var bar = drop.querySelector(".bar > span");
    var send = function (file) {
      var fd = new FormData();
      fd.append("file", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", drop.action);
      xhr.setRequestHeader("X-CSRF-Token", csrf);
      xhr.upload.onprogress = function (e) {
        if (e.lengthComputable && bar) { bar.style.width = (100 * e.loaded / e.total) + "%"; }
      };
      xhr.onload = function () {
        if (xhr.status >= 200 && xhr.status < 300 && xhr.responseURL) {
          window.location = xhr.responseURL;
          return;
        }
        drop.classList.remove("sending");
        document.open(); document.write(xhr.responseText); document.close();
      };
      xhr.onerror = function () { drop.classList.remove("sending"); showError(drop.getAttribute("data-neterr")); };
      drop.classList.add("sending");
      xhr.send(fd);
    };
    ["dragenter", "dragover"].forEach(function (ev) {
      drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (ev) {
      drop.addEventListener(ev, function (e) { e.preventDefault(); drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      if (e.dataTransfer && e.dataTransfer.files.length) { send(e.dataTransfer.files[0]); }
    });
    drop.addEventListener("submit", function (e) {
      if (input && input.files.length) { e.preventDefault(); send(input.files[0]); }
    });
    if (input) {
      input.addEventListener("change", function () { if (input.files.length) { send(input.files[0]); } });
    }
  }

  // ---- preview: fix cells, leave rows out ----
  var grid = document.querySelector("table.grid[data-cell-url]");
  function applyRow(j) {
    var tr = grid.querySelector("tr[data-row='" + j.row + "']");
    if (!tr) { return; }
    tr.classList.toggle("excluded", !!j.excluded);
    tr.querySelectorAll("td.cell").forEach(function (td) {
      var col = td.getAttribute("data-col");
      var why = td.querySelector(".why");
      var p = (j.problems || []).filter(function (p) { return String(p.col) === col; });
      if (j.cells && j.cells[col] !== undefined) {
        var span = td.querySelector(".v");
        if (span) { span.textContent = j.cells[col]; }
        var inp = td.querySelector("form.fix input[name=value]");
        if (inp) { inp.value = j.cells[col]; }
      }
      var edited = !!(j.cells && j.cells[col] !== undefined);
      td.classList.toggle("bad", p.length > 0);
      td.classList.toggle("fixed", p.length === 0 && edited);
      if (why) { why.textContent = p.map(function (x) { return x.message; }).join("; "); }
    });
    var rp = tr.querySelector("td.rowprob");
    if (rp) {
      rp.textContent = (j.problems || []).filter(function (p) { return p.col < 0; }).map(function (p) { return p.message; }).join("; ");
    }
    var btn = tr.querySelector("form.exclude button");
    if (btn) { btn.textContent = j.excluded ? btn.getAttribute("data-include") : btn.getAttribute("data-exclude"); }
    var ex = tr.querySelector("form.exclude input[name=excluded]");
    if (ex) { ex.value = j.excluded ? "0" : "1"; }
    var count = document.getElementById("bad-count");
    if (count && j.summary) { count.textContent = j.summary; }
    var go = document.getElementById("send");
    if (go && j.sendable !== undefined) { go.disabled = !j.sendable; }
    showError("");
  }
  if (grid) {
    var url = grid.getAttribute("data-cell-url");
    var saveCell = function (td, value) {
      return post(url, { row: td.parentNode.getAttribute("data-row"), col: td.getAttribute("data-col"), value: value })
        .then(applyRow, function (err) { showError(err.message); });
    };
    grid.addEventListener("submit", function (e) {
      var f = e.target;
      if (f.classList.contains("fix")) {
        e.preventDefault();
        saveCell(f.parentNode, f.querySelector("input[name=value]").value);
      } else if (f.classList.contains("exclude")) {
        e.preventDefault();
        post(f.action, { row: f.querySelector("input[name=row]").value, excluded: f.querySelector("input[name=excluded]").value })
          .then(applyRow, function (err) { showError(err.message); });
      }
    });
    grid.addEventListener("change", function (e) {
      var inp = e.target;
      if (inp.name === "value" && inp.form && inp.form.classList.contains("fix")) {
        saveCell(inp.form.parentNode, inp.value);
      }
    });
    // Any cell can be corrected: double-click opens it.
    grid.addEventListener("dblclick", function (e) {
      var td = e.target.closest("td.cell");
      if (!td || td.parentNode.classList.contains("excluded")) { return; }
      var own = td.querySelector("form.fix input[name=value]");
      if (own) { own.focus(); own.select(); return; }
      if (td.querySelector("input")) { return; }
      var span = td.querySelector(".v");
      var old = span ? span.textContent : "";
      var inp = document.createElement("input");
      inp.className = "edit";
      inp.value = old;
      if (span) { span.hidden = true; }
      td.insertBefore(inp, td.firstChild);
      inp.focus();
      inp.select();
      var done = false;
      var finish = function (save) {
        if (done) { return; }
        done = true;
        inp.remove();
        if (span) { span.hidden = false; }
        if (save && inp.value !== old) { saveCell(td, inp.value); }
      };
      inp.addEventListener("keydown", function (k) {
        if (k.key === "Enter") { k.preventDefault(); finish(true); }
        if (k.key === "Escape") { finish(false); }
      });
      inp.addEventListener("blur", function () { finish(true); });
    });
  }

  // ---- send and watch ----
  var watch = document.getElementById("watch");
  if (watch && window.EventSource) {
    var rows = document.getElementById("outcomes");
    var bar = watch.querySelector(".progress > span");
    var total = parseInt(watch.getAttribute("data-total") || "0", 10);
    var src = new EventSource(watch.getAttribute("data-events"));
    src.addEventListener("rows", function (e) {
      JSON.parse(e.data).forEach(function (o) {
        var tr = rows.querySelector("tr[data-row='" + o.row + "']");
        if (!tr) {
          tr = document.createElement("tr");
          tr.setAttribute("data-row", o.row);
          tr.innerHTML = "<td class='num'></td><td><span class='state'></span></td><td class='m'></td>";
          tr.firstChild.textContent = o.row;
          rows.appendChild(tr);
        }
        var st = tr.querySelector(".state");
        st.className = "state " + o.status;
        st.textContent = o.label;
        tr.querySelector(".m").textContent = o.message || "";
      });
    });
    src.addEventListener("state", function (e) {
      var s = JSON.parse(e.data);
      var el = document.getElementById("file-state");
      if (el) { el.className = "state " + s.state; el.textContent = s.label; }
      var m = document.getElementById("file-message");
      if (m) { m.textContent = s.message || ""; }
      var c = document.getElementById("file-counts");
      if (c) { c.textContent = s.counts || ""; }
      if (bar && total > 0) { bar.style.width = Math.min(100, 100 * s.recorded / total) + "%"; }
      if (s.report) {
        var a = document.getElementById("report");
        if (a) { a.href = s.report; a.hidden = false; }
      }
      if (s.final) {
        src.close();
        if (bar) { bar.style.transition = "none"; bar.style.width = "100%"; }
        var wait = document.getElementById("file-waiting");
        if (wait) { wait.hidden = true; }
        watch.setAttribute("data-final", "1");
      }
    });
  }
})();
