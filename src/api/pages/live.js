// Reader page: "N new items" while the page is open, from /api/stream (Server-Sent Events).
// Served from /assets so the CSP allows it (script-src 'self', no inline script); the page
// works the same without it: the notice stays hidden and "Newest" reloads.
(function () {
  'use strict';
  var box = document.getElementById('live');
  if (!box || typeof EventSource === 'undefined') return;
  var link = box.querySelector('a');
  var shown = {};
  var entries = document.querySelectorAll('[data-entry-id]');
  for (var i = 0; i < entries.length; i++) shown[entries[i].getAttribute('data-entry-id')] = true;
  var fresh = {};
  var count = 0;
  var source = new EventSource(box.getAttribute('data-stream'));
  source.addEventListener('item', function (e) {
    var id;
    try {
      id = String(JSON.parse(e.data).id);
    } catch (err) {
      return;
    }
    // An edit of an entry on the page, or a second edit of a new one, is not another new item.
    if (shown[id] || fresh[id]) return;
    fresh[id] = true;
    count++;
    link.textContent = count === 1 ? '1 new item' : count + ' new items';
    box.hidden = false;
  });
  source.addEventListener('reset', function () {
    link.textContent = 'New items';
    box.hidden = false;
  });
})();
