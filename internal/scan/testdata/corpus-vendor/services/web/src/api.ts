import mapboxgl from "mapbox-gl";
import { initializeApp } from "firebase/app";

// Public token: URL-restricted, safe in the browser.
mapboxgl.accessToken = "pk.eyJ1IjoiYWNtZS1tYXBzIiwiYSI6ImNsdjjP7PKhHdtv8A56a0vEFd.nMroqisoYVt3zdafacGDoc";

// Used by the tile uploader in scripts/, which runs server side.
export const MAPBOX_UPLOAD_TOKEN = "sk.eyJ1IjoiYWNtZS1tYXBzIiwiYSI6ImNsdjXikss2PT9LsexLGZWOLc.I1TE3MKtwAiZnN29HUsFSd";

export const firebaseApp = initializeApp({
  apiKey: "AIzam2kD2iptChtMiXpPjJWmVEhlbjZWgAo8HAS",
  authDomain: "acme-web-prod.firebaseapp.com",
  projectId: "acme-web-prod",
});

export async function fetchOrders(token: string) {
  const res = await fetch("/api/orders", {
    headers: { Authorization: `Bearer ${token}`, "X-Request-Id": "ccc0a46d-fcc3-44c4-aad8-a3b41421d508" },
  });
  return res.json();
}

const apiKey = process.env.NEXT_PUBLIC_API_KEY ?? "";
export const logo = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9hRNlFHbvJziV8Yl4Y4/POubGfteKcfWKOZfTNNqHK";
