(on) => { if (!on) window.brainTutorVoice?.stop(); return on; }
