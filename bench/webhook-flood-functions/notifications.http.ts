export * from "../../functions/notifications.http.js";
