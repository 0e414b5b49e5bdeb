async (chosen) => {
  // The page's language: the learner's choice (kept in the browser), else the browser's own
  // language when the page has it, else English. A choice switches Gradio's locale at once.
  const ours = [__LANGUAGES__];
  const pick = (tag) => {
    const lower = String(tag || "").toLowerCase();
    return ours.find((code) => code === lower) || ours.find((code) => code === lower.split("-")[0]);
  };
  const saved = pick(chosen);
  if (saved) {
    try {
      const name = "__CORE_MODULE__";
      const loaded = performance.getEntriesByType("resource").map((entry) => entry.name)
        .find((url) => url.split("?")[0].endsWith("/assets/" + name));
      const core = await import(loaded || new URL("assets/" + name, document.baseURI).href);
      await core.changeLocale(saved);
    } catch (error) {
      console.warn("Brain Tutor: could not switch the page's language", error);
    }
    return saved;
  }
  // as Gradio picks its locale on a first visit (its fallback, English, when it has no match)
  return pick(navigator.language) || "en";
}
