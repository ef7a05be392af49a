/* FindME: enhances the customer's form (page.html), which works without this
 * script. No framework beyond Leaflet; no inline script or style is needed
 * (everything is read from data-* attributes), so a strict
 * Content-Security-Policy holds. Written in ES5 for old phones. */
(function () {
	'use strict';

	function $(id) { return document.getElementById(id); }

	var form = $('findme');
	if (!form || !form.addEventListener) { return; }

	var gps = $('use-gps');
	var status = $('status');
	var lat = $('lat');
	var lng = $('lng');
	var address = $('address');
	var source = $('source');
	var review = $('review');
	var entry = $('entry');
	var panel = $('confirm-panel');
	var confirmTitle = $('confirm-title');
	var confirmCoords = $('confirm-coords');
	var confirmAddress = $('confirm-address');
	var confirmBtn = $('confirm');
	var change = $('change');
	var mapEl = $('map');
	var tilesStatus = $('tiles-status');

	var map = null;
	var marker = null;
	var locating = false;
	var sending = false;

	function say(key) {
		var t = key ? (status.getAttribute('data-' + key) || '') : '';
		if (status.textContent !== t) { status.textContent = t; }
	}

	// fill puts v where the format has %s (or after it when it has none).
	function fill(format, v) {
		format = format || '%s';
		if (format.indexOf('%s') < 0) { return format + ' ' + v; }
		return format.replace('%s', function () { return v; });
	}

	function parseCoord(s) {
		s = String(s || '').replace(',', '.').replace(/^\s+|\s+$/g, '');
		if (!/^[-+]?(\d+(\.\d*)?|\.\d+)$/.test(s)) { return null; }
		return parseFloat(s);
	}

	// readCoords is [lat, lng] when both fields hold a usable pair.
	function readCoords() {
		var a = parseCoord(lat.value), b = parseCoord(lng.value);
		if (a === null || b === null || a < -90 || a > 90 || b < -180 || b > 180 || (a === 0 && b === 0)) {
			return null;
		}
		return [a, b];
	}

	function setCoords(a, b, src) {
		lat.value = a.toFixed(6);
		lng.value = b.toFixed(6);
		source.value = src;
	}

	function moveMarker() {
		var c = readCoords();
		if (!marker || !c) { return; }
		marker.setLatLng(c);
		map.setView(c, Math.max(map.getZoom(), 16));
	}

	// The "use my location" button.
	if (gps && navigator.geolocation && navigator.geolocation.getCurrentPosition) {
		gps.hidden = false;
		gps.addEventListener('click', function () {
			if (locating) { return; }
			locating = true;
			gps.setAttribute('aria-disabled', 'true');
			say('gps-wait');
			navigator.geolocation.getCurrentPosition(function (pos) {
				locating = false;
				gps.removeAttribute('aria-disabled');
				setCoords(pos.coords.latitude, pos.coords.longitude, 'gps');
				moveMarker();
				say('gps-ok');
			}, function (err) {
				locating = false;
				gps.removeAttribute('aria-disabled');
				say(err && err.code === 1 ? 'gps-denied' : 'gps-unavailable');
			}, { enableHighAccuracy: true, timeout: 10000, maximumAge: 0 });
		});
	}

	// Coordinates typed by hand.
	function typed() { source.value = 'typed'; }
	lat.addEventListener('input', typed);
	lng.addEventListener('input', typed);
	lat.addEventListener('change', moveMarker);
	lng.addEventListener('change', moveMarker);

	// The map, where Leaflet and the tiles load.
	var tilesFailed = false;
	function noTiles() {
		if (!tilesStatus) { return; }
		var t = tilesStatus.getAttribute('data-text') || '';
		if (tilesStatus.textContent !== t) { tilesStatus.textContent = t; }
		if (mapEl && !tilesFailed) {
			tilesFailed = true;
			mapEl.className += ' map-no-tiles';
			if (map) { map.invalidateSize(); }
		}
	}
	function tilesOK() {
		if (tilesStatus && tilesStatus.textContent !== '') { tilesStatus.textContent = ''; }
		if (mapEl && tilesFailed) {
			tilesFailed = false;
			mapEl.className = mapEl.className.replace(/\s*map-no-tiles/g, '');
			if (map) { map.invalidateSize(); }
		}
	}

	function initMap() {
		if (!mapEl) { return; }
		if (typeof window.L === 'undefined' || !window.L.map) { noTiles(); return; }
		var L = window.L;
		var block = $('map-block');
		if (block) { block.hidden = false; }

		// html/template writes a URL attribute percent-encoded: bring back
		// the {z}/{x}/{y} placeholders.
		var url = (mapEl.getAttribute('data-tile-url') || '').replace(/%7B/gi, '{').replace(/%7D/gi, '}');
		var base = mapEl.getAttribute('data-asset-base') || '';
		var label = mapEl.getAttribute('aria-label') || '';
		var z = parseInt(mapEl.getAttribute('data-zoom'), 10);
		var centre = readCoords() || [parseFloat(mapEl.getAttribute('data-lat')) || 0,
			parseFloat(mapEl.getAttribute('data-lng')) || 0];
		if (isNaN(z)) { z = 15; }

		L.Icon.Default.imagePath = base + 'leaflet/images/';
		map = L.map(mapEl, { center: centre, zoom: z });

		// The attribution: server-rendered and escaped (#map-attribution).
		var at = $('map-attribution');
		var layer = L.tileLayer(url, { maxZoom: 19, attribution: at ? at.innerHTML : '' });
		var loaded = 0;
		layer.on('tileload', function () { loaded++; tilesOK(); });
		layer.on('tileerror', function () { if (loaded === 0) { noTiles(); } });
		layer.addTo(map);
		window.setTimeout(function () { if (loaded === 0) { noTiles(); } }, 5000);

		marker = L.marker(centre, { draggable: true, autoPan: true, title: label, alt: label }).addTo(map);
		marker.on('dragend', function () {
			var p = marker.getLatLng().wrap();
			setCoords(p.lat, p.lng, 'map');
		});
		map.on('click', function (e) {
			var p = e.latlng.wrap();
			marker.setLatLng(p);
			setCoords(p.lat, p.lng, 'map');
		});
	}
	try {
		initMap();
	} catch (e) {
		noTiles();
	}

	// The review step: the form's submit shows what will be sent.
	review.textContent = review.getAttribute('data-review') || review.textContent;

	function showConfirm() {
		var c = readCoords();
		var a = address.value.replace(/^\s+|\s+$/g, '');
		confirmCoords.hidden = true;
		confirmAddress.hidden = true;
		if (c) {
			confirmCoords.textContent = fill(panel.getAttribute('data-coords'), c[0].toFixed(6) + ', ' + c[1].toFixed(6));
			confirmCoords.hidden = false;
			if (source.value !== 'gps' && source.value !== 'map') { source.value = 'typed'; }
		} else if (a) {
			confirmAddress.textContent = fill(panel.getAttribute('data-address'), a);
			confirmAddress.hidden = false;
			source.value = 'address';
		} else {
			say('need-location');
			(gps && !gps.hidden ? gps : lat).focus();
			return;
		}
		say('');
		entry.hidden = true;
		panel.hidden = false;
		confirmTitle.focus();
	}

	function showEntry() {
		panel.hidden = true;
		entry.hidden = false;
		if (map) { map.invalidateSize(); }
		(gps && !gps.hidden ? gps : lat).focus();
	}

	form.addEventListener('submit', function (e) {
		e.preventDefault();
		if (!sending) { showConfirm(); }
	});

	confirmBtn.addEventListener('click', function () {
		if (sending) { return; }
		sending = true;
		confirmBtn.disabled = true;
		change.disabled = true;
		say('sending');
		form.submit(); // no submit event: it goes as it is
	});

	change.addEventListener('click', function () {
		if (!sending) { showEntry(); }
	});

	// Back from the next page (bfcache): the form can be used again.
	window.addEventListener('pageshow', function (e) {
		if (e.persisted) {
			sending = false;
			confirmBtn.disabled = false;
			change.disabled = false;
			say('');
		}
	});
}());
