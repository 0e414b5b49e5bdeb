// The streaming read-aloud player, run by Gradio as the `js_on_load` of the page's voice-stream
// gr.HTML (see tutor/web/voice_panel.py). Its value is one JSON line per piece of speech,
// {"turn", "index", "seconds", "audio": a WAV data URL}; this script queues each new piece and
// plays them in order, a new turn (or the toggle switched off) stopping the last.
// Gradio's own streaming gr.Audio output needs the ffmpeg program (it re-encodes to AAC for
// HLS), which the Space and this machine do not have; this needs nothing but the browser.
// window.brainTutorVoice.log records when each piece arrived and started playing (the tests
// read it).
const player = window.brainTutorVoice = window.brainTutorVoice || {
  turn: null, next_index: 0, queue: [], current: null, log: [],
  note(clip, event, extra) {
    this.log.push({turn: clip.turn, index: clip.index, event, at: performance.now(), ...extra});
    if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
  },
  stop() {
    this.queue = [];
    if (this.current) { this.current.pause(); this.current = null; }
  },
  play_next() {
    if (this.current || !this.queue.length) return;
    const clip = this.queue.shift();
    const audio = new Audio(clip.audio);
    this.current = audio;
    const done = () => { if (this.current === audio) { this.current = null; this.play_next(); } };
    audio.addEventListener('ended', done);
    audio.addEventListener('error', done);
    audio.play().then(() => this.note(clip, 'play'), (error) => {
      this.note(clip, 'blocked', {error: String(error)});  // autoplay refused: the replay player
      this.stop();                                           // gets the whole reply
    });
  },
  take(value) {
    for (const line of String(value || '').split('\n')) {
      let clip;
      try { clip = JSON.parse(line); } catch (error) { continue; }
      if (!clip || !clip.turn || !clip.audio) continue;
      if (clip.turn !== this.turn) { this.stop(); this.turn = clip.turn; this.next_index = 0; }
      if (clip.index < this.next_index) continue;
      this.next_index = clip.index + 1;
      this.note(clip, 'received', {seconds: clip.seconds, bytes: clip.audio.length});
      this.queue.push(clip);
      this.play_next();
    }
  },
};
watch('value', () => player.take(props.value));
