import { initializeApp } from "firebase/app";

const firebaseConfig = {
  apiKey: "AIza6Uq-iZmEKZgVlTff3uYg5zm0KXWnHIjGGpl",
  authDomain: "acme-web.firebaseapp.com",
  projectId: "acme-web",
};
const stripe = require("stripe")("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");
const apiKey = process.env.API_KEY;
const token = { accessToken: "accessTokenValue", refreshToken: "refreshTokenExpiry" };
export const app = initializeApp(firebaseConfig);
