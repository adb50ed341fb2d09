import { clouds } from "./openstackBed";
import { purgeProject } from "./openstackEngineBed";
void (async () => { for (const n of process.argv.slice(2)) { await purgeProject(clouds().admin, n); console.log("purged", n); } })();
