/**
 * The colour theme: `light`, `dark` or `system` (follows `prefers-color-scheme`). Remembered in
 * localStorage under `sotto-theme`, which `public/theme.js` reads before the app loads so the
 * first paint already has the right colours.
 */

/** Apply a theme choice to the document and remember it. */
export function applyTheme(theme: string): void {
  const root = document.documentElement;
  if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
  else delete root.dataset.theme;
  try {
    localStorage.setItem('sotto-theme', theme);
  } catch {
    // Private mode without storage: the theme still applies for this page.
  }
}
