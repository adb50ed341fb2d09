import { clouds, Session } from "./openstackBed";
void (async () => { const a = await Session.login(clouds().admin); console.log((await a.call<any>("identity","GET","/projects")).projects.map((p:any)=>p.name).join(" ")); })();
