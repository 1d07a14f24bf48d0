// @ts-check
/**
 * datatailr %dt_runs explorer: the anywidget front-end module (built into
 * datatailr/jupyter_ext/static/explorer.js by `npm run build`).
 */
import { renderExplorer } from "./app.js";

export default {
  /** @param {{model: any, el: HTMLElement}} props */
  render({ model, el }) {
    return renderExplorer({ model, el });
  },
};
