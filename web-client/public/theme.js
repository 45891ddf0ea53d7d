// Apply the saved theme before first paint (no flash of the wrong theme). A file rather than
// an inline script: the Content-Security-Policy allows scripts from 'self' only.
try {
  var t = localStorage.getItem('sotto-theme');
  if (t === 'light' || t === 'dark') document.documentElement.dataset.theme = t;
} catch (e) {}
